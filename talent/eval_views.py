"""Pages of evaluation as data (issue 15), on the talent blueprint: the grade bands and settings of a province
(beside its indicator tree), the tree's Excel export and whole-tree load, the scoring flow (each step's form
shown to the actor whose turn it is; the service checks again), and the yearly selection (评选)."""
from __future__ import annotations

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms import sheets
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db
from lms.domain import Role
from lms.errors import ValidationFailed
from lms.forms import submit
from lms.scoping import get_visible, visible
from lms.templating import today_local
from talent.forms import (EvalSettingsForm, ImportForm, NominateForm, OpenAssessmentForm, PublishSelectionForm, SelectionForm,
                          StepForm)
from talent.models import Assessment, AssessmentStep, Selection, TalentEntry
from talent.services import assessments as flow
from talent.services import evaluation
from talent.services import provincial_eval as pe
from talent.views import ADMINS, _province_for_tree, bp

BAND_ROWS = 7  # the bands form's rows (empty ones are ignored)


def _own_province():
    """The province shown, and whether the user may edit it (its own bureau or a system admin)."""
    province = _province_for_tree()
    if province is None:
        abort(404)
    return province, current_user.role == Role.system_admin or current_user.region_id == province.id


def _num(raw: str) -> float | None:
    try:
        return float(raw) if raw.strip() else None
    except ValueError:
        return None


def posted_bands() -> list[pe.Band]:
    """The bands of the form's rows (``low_i``, ``high_i``, ``stars_i``, ``grade_i``), empty rows skipped;
    a row with a value that is not a number is refused naming the row."""
    out, errors = [], {}
    for i in range(BAND_ROWS):
        raw = [request.form.get(f"{k}_{i}", "") for k in ("low", "high", "stars")]
        if not any(r.strip() for r in raw):
            continue
        low, high, stars = (_num(r) for r in raw)
        if None in (low, high, stars) or stars != int(stars):
            errors[f"band{i}"] = _("第 %(i)d 档：下限、上限须为数字，星级须为整数", i=i + 1)
            continue
        out.append(pe.Band(low, high, int(stars), request.form.get(f"grade_{i}", "").strip()[:16]))
    if errors:
        raise ValidationFailed(errors)
    return out


@bp.route("/indicators/bands", methods=["POST"])
@roles_required(*ADMINS)
def grade_bands():
    """Replace the province's grade bands (gaps and overlaps refused, naming the band; nothing changed)."""
    province, can_edit = _own_province()
    if not can_edit or not StepForm().validate_on_submit():
        abort(403)
    submit(None, lambda: pe.save_bands(db.session, current_user, province.id, posted_bands()), success=_("星级分档已保存"))
    return redirect(url_for("talent.indicators", province=province.id) + "#bands")


@bp.route("/indicators/settings", methods=["POST"])
@roles_required(*ADMINS)
def eval_settings():
    """Save the outlier threshold and the stars a nomination needs."""
    province, can_edit = _own_province()
    form = EvalSettingsForm(prefix="es")
    if not can_edit:
        abort(403)
    if form.validate_on_submit():
        submit(None, lambda: pe.save_settings(db.session, current_user, province.id, float(form.threshold.data),
                                              form.min_stars.data), success=_("评价设置已保存"))
    else:
        flash("；".join(str(v[0]) for v in form.errors.values()), "danger")
    return redirect(url_for("talent.indicators", province=province.id) + "#eval-settings")


@bp.route("/indicators/export.xlsx")
@roles_required(*ADMINS)
def indicators_export():
    """The province's tree as a workbook with the import's columns (a file another province can load)."""
    province, _can = _own_province()
    wb, ws = sheets.workbook(_("评价指标"), evaluation.INDICATOR_HEADERS)
    for n in pe.export_tree(db.session, province.id):
        sheets.append(ws, [sheets.Text(n.code), sheets.Text(n.parent), n.name, n.weight, n.max_points, n.evidence])
    return send_file(io.BytesIO(sheets.to_bytes(wb)), as_attachment=True, download_name=f"indicators-{province.code}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/indicators/replace", methods=["POST"])
@body_limit(sheets.MAX_BYTES + FORM_ROOM)
@roles_required(*ADMINS)
def indicators_replace():
    """Replace the whole tree from a workbook: every weight sum, parent and level checked, nothing applied on error."""
    province, can_edit = _own_province()
    form = ImportForm(prefix="rep")
    if not can_edit or not form.validate_on_submit():
        abort(403)
    f = request.files.get("rep-file")

    def run():
        rows = evaluation.parse_indicator_xlsx(f.read() if f else b"", f.filename if f else "")
        nodes = [pe.Node((r.code or "").strip(), (r.parent or "").strip(), (r.name or "").strip(), r.weight, r.max_points,
                         r.evidence_type or "") for r in rows]
        return pe.load_tree(db.session, current_user, province.id, nodes)

    submit(None, run, success=_("指标体系已整体替换"))
    return redirect(url_for("talent.indicators", province=province.id))


# ------------------------------------------------------------------ the scoring flow
@bp.route("/assessments", methods=["GET", "POST"])
@roles_required(*Role)
def assessments():
    """The evaluations the user may see (their own, their CQO's, those they score, their region's); bureaus open one."""
    form = OpenAssessmentForm(prefix="open") if current_user.role in ADMINS else None
    if form is not None and request.method == "GET" and request.args.get("entry", type=int):
        form.entry_id.data = request.args.get("entry", type=int)  # from the member's page: 发起评价
    if form is not None and form.validate_on_submit():
        entry = get_visible(db.session, TalentEntry, form.entry_id.data, current_user)
        done = submit(form, lambda: flow.open_assessment(db.session, current_user, entry, form.year.data,
                                                         form.experts.data.replace("，", ",").split(",")),
                      success=_("评价已发起，已通知本人自评"), redirect_to=lambda a: url_for("talent.assessment", assessment_id=a.id))
        if done:
            return done
    rows = db.session.scalars(visible(Assessment, current_user).order_by(Assessment.id.desc()).limit(200)).all()
    return render_template("talent/assessments.html", rows=rows, form=form,
                           waiting={a.id for a in rows if flow.waiting_for(db.session, current_user, a)})


def _points(leaves) -> dict:
    """The posted points by leaf code (``s_<code>``); what is not a number stays out (the service names it)."""
    out = {}
    for leaf in leaves:
        v = _num(request.form.get(f"s_{leaf.code}", ""))
        if v is not None:
            out[leaf.code] = v
    return out


@bp.route("/assessments/<int:assessment_id>", methods=["GET", "POST"])
@roles_required(*Role)
def assessment(assessment_id: int):
    """One evaluation: its steps so far, and the current step's form for the actor whose turn it is."""
    a = get_visible(db.session, Assessment, assessment_id, current_user)
    leaves = pe.scored_leaves(db.session, a.province_id)
    form = StepForm()
    if form.validate_on_submit():
        note, step = form.note.data or "", a.step
        act = {AssessmentStep.self: lambda: flow.self_assess(db.session, current_user, a, _points(leaves), note),
               AssessmentStep.enterprise: lambda: flow.enterprise_opinion(db.session, current_user, a, note),
               AssessmentStep.experts: lambda: flow.expert_score(db.session, current_user, a, _points(leaves)),
               AssessmentStep.bureau: lambda: flow.confirm(db.session, current_user, a, note, today_local())}.get(step)
        if act is None:
            abort(409)
        done = submit(form, act, success=_("已提交"), redirect_to=url_for("talent.assessment", assessment_id=a.id))
        if done:
            return done
    show_experts = current_user.role in ADMINS
    return render_template("talent/assessment.html", a=a, leaves=leaves, form=form, show_experts=show_experts,
                           turn=flow.waiting_for(db.session, current_user, a), values=request.form)


# ------------------------------------------------------------------ 评选
@bp.route("/selections", methods=["GET", "POST"])
@roles_required(*ADMINS)
def selections():
    """The region's selections of outstanding CQOs; a bureau opens the year's."""
    form = SelectionForm(prefix="sel") if current_user.role == Role.regulator_admin else None
    if form is not None and form.validate_on_submit():
        done = submit(form, lambda: flow.open_selection(db.session, current_user, form.year.data, form.title.data),
                      success=_("评选已发起"), redirect_to=lambda s: url_for("talent.selection", selection_id=s.id))
        if done:
            return done
    rows = db.session.scalars(visible(Selection, current_user).order_by(Selection.year.desc(), Selection.id.desc())).all()
    return render_template("talent/selections.html", rows=rows, form=form)


@bp.route("/selections/<int:selection_id>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def selection(selection_id: int):
    """A selection: nominate the starred, record the panel's decision, publish the result as a notice."""
    s = get_visible(db.session, Selection, selection_id, current_user)
    nom, step, pub = NominateForm(prefix="nom"), StepForm(prefix="dec"), PublishSelectionForm(prefix="pub")
    action, here = request.form.get("action"), url_for("talent.selection", selection_id=s.id)
    done = None
    if action == "nominate" and nom.validate_on_submit():
        entry = get_visible(db.session, TalentEntry, nom.entry_id.data, current_user)
        done = submit(nom, lambda: flow.nominate(db.session, current_user, s, entry, nom.reason.data), success=_("已提名"), redirect_to=here)
    elif action == "decide" and step.validate_on_submit():
        chosen = {int(v) for v in request.form.getlist("selected") if v.isdigit()}
        done = submit(step, lambda: flow.decide(db.session, current_user, s, chosen, step.note.data or "", today_local()),
                      success=_("评审结果已记录"), redirect_to=here)
    elif action == "publish" and pub.validate_on_submit():
        done = submit(pub, lambda: flow.publish_selection(db.session, current_user, s, pub.objection_days.data, today_local()),
                      success=_("评选结果已公布"), redirect_to=here)
    if done:
        return done
    may_act = flow.organises(current_user, s)
    candidates, more = flow.nomination_candidates(db.session, current_user, s) if may_act else ([], False)
    return render_template("talent/selection.html", s=s, nom=nom, step=step, pub=pub, may_act=may_act,
                           candidates=candidates, more=more)


def _settings_form(st) -> EvalSettingsForm:
    """The settings form filled with the province's values."""
    return EvalSettingsForm(prefix="es", data={"threshold": st.outlier_threshold, "min_stars": st.nomination_min_stars})


def bands_context(province_id: int) -> dict:
    """What the indicators page shows of the bands and settings."""
    bands = pe.province_bands(db.session, province_id)
    return {"bands": bands, "band_rows": BAND_ROWS, "eval_settings": pe.settings_for(db.session, province_id),
            "settings_form": _settings_form(pe.settings_for(db.session, province_id)),
            "replace_form": ImportForm(prefix="rep"), "band_form": StepForm()}
