"""Question banks and questions: who may keep which bank, and what makes a question well-formed."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from exams.models import TRUE_FALSE_OPTIONS, Difficulty, Question, QuestionBank, QuestionType
from exams.papers import discard_prepared
from lms import audit
from lms.domain import RegionLevel, Role
from lms.errors import Forbidden, ValidationFailed
from lms.orgs.models import Region

OPTION_IDS = "ABCDEF"


def can_edit_bank(user, bank: QuestionBank) -> bool:
    """An institution's bank is kept by its staff; a province's shared bank by that province's regulator."""
    if user.role == Role.system_admin:
        return True
    if bank.institution_id is not None:
        return user.role == Role.institution_staff and user.institution_id == bank.institution_id
    return (user.role == Role.regulator_admin and user.region is not None
            and user.region.level == RegionLevel.province and user.region_id == bank.province_id)


def create_bank(session: Session, user, name: str, description: str = "") -> QuestionBank:
    """A new bank owned by the user's institution, or (province regulator) the province's shared bank."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": _("「题库名称」不能为空")})
    if user.role == Role.institution_staff and user.institution_id:
        bank = QuestionBank(name=name, description=description or "", institution_id=user.institution_id)
    elif user.role == Role.regulator_admin and user.region and user.region.level == RegionLevel.province:
        bank = QuestionBank(name=name, description=description or "", province_id=user.region_id)
    else:
        raise Forbidden(_("只有培训机构工作人员或省级监管部门可以建立题库"))
    session.add(bank)
    session.flush()
    audit.record(session, user, "exam_bank.create", bank)
    return bank


def shared_bank(session: Session, province: Region, name: str = "全省共享题库") -> QuestionBank:
    """The province's shared bank, created on first use (used by the demo seed and by province regulators)."""
    bank = session.scalar(select(QuestionBank).where(QuestionBank.province_id == province.id).order_by(QuestionBank.id))
    if bank is None:
        bank = QuestionBank(name=name, province_id=province.id, description="省级市场监管部门维护，全省培训机构共用")
        session.add(bank)
        session.flush()
    return bank


@dataclass
class QuestionData:
    type: str
    stem: str
    options: list[str] = field(default_factory=list)  # texts, in order A, B, C…; blanks at the end ignored
    answer: str = ""  # "AC" for choices, "T"/"F" (or 正确/错误) for true/false, reference text for short answers
    knowledge_point: str = ""
    difficulty: str = "medium"
    explanation: str = ""


TF_WORDS = {"T": "T", "F": "F", "正确": "T", "错误": "F", "对": "T", "错": "F", "√": "T", "×": "F",
            "TRUE": "T", "FALSE": "F", "是": "T", "否": "F"}


def _choice_question(qtype: QuestionType, option_texts: list[str], raw_answer: str,
                     errors: dict[str, str]) -> tuple[list[dict], list[str]]:
    """A single or multiple choice question's options and correct letters; problems go to ``errors``."""
    texts = [(t or "").strip() for t in option_texts]
    while texts and not texts[-1]:
        texts.pop()
    if any(not t for t in texts):
        errors["options"] = _("「选项」中间不能有空选项")
    elif len(texts) < 2:
        errors["options"] = _("「选项」至少需要两个")
    elif len(texts) > len(OPTION_IDS):
        errors["options"] = _("「选项」最多 6 个")
    options = [{"id": OPTION_IDS[i], "text": t} for i, t in enumerate(texts)]
    letters = sorted(set(raw_answer.upper().replace(",", "").replace("，", "").replace(" ", "")))
    valid = {o["id"] for o in options}
    if not letters:
        errors["answer"] = _("「正确答案」不能为空")
    elif any(ch not in valid for ch in letters):
        errors["answer"] = _("「正确答案」只能是已有选项的字母（如 A 或 ACD）")
    elif qtype == QuestionType.single and len(letters) != 1:
        errors["answer"] = _("单选题的「正确答案」只能有一个选项")
    elif qtype == QuestionType.multiple and len(letters) < 2:
        errors["answer"] = _("多选题的「正确答案」至少两个选项")
    return options, letters


def validate_question(data: QuestionData) -> dict:
    """Check a question and return the model's column values; raise ValidationFailed naming each bad field."""
    errors: dict[str, str] = {}
    try:
        qtype = QuestionType(data.type)
    except ValueError:
        raise ValidationFailed({"type": _("「题型」须为单选题、多选题、判断题或简答题")})
    stem = (data.stem or "").strip()
    if not stem:
        errors["stem"] = _("「题干」不能为空")
    kp = (data.knowledge_point or "").strip()
    if not kp:
        errors["knowledge_point"] = _("「知识点」不能为空")
    elif len(kp) > 64:
        errors["knowledge_point"] = _("「知识点」不能超过 64 个字")
    try:
        difficulty = Difficulty(data.difficulty)
    except ValueError:
        errors["difficulty"] = _("「难度」须为易、中或难")
        difficulty = Difficulty.medium
    options: list[dict] = []
    answer: list[str] = []
    reference = ""
    raw_answer = (data.answer or "").strip()
    if qtype in (QuestionType.single, QuestionType.multiple):
        options, answer = _choice_question(qtype, data.options, raw_answer, errors)
    elif qtype == QuestionType.true_false:
        options = [dict(o) for o in TRUE_FALSE_OPTIONS]
        tf = TF_WORDS.get(raw_answer.upper())
        if tf is None:
            errors["answer"] = _("判断题的「正确答案」须为“正确”或“错误”")
        else:
            answer = [tf]
    else:
        if not raw_answer:
            errors["answer"] = _("简答题须填写「参考答案」")
        reference = raw_answer
    if errors:
        raise ValidationFailed(errors)
    return dict(type=qtype, stem=stem, options=options, answer=answer, reference_answer=reference,
                knowledge_point=kp, difficulty=difficulty, explanation=(data.explanation or "").strip())


def save_question(session: Session, user, bank: QuestionBank, data: QuestionData,
                  question: Question | None = None) -> Question:
    """Add a question to the bank, or change one. Papers already drawn keep their own copy."""
    if not can_edit_bank(user, bank):
        raise Forbidden(_("您不能修改这个题库"))
    values = validate_question(data)
    if question is None:
        question = Question(bank_id=bank.id, **values)
        session.add(question)
    else:
        for k, v in values.items():
            setattr(question, k, v)
        discard_prepared(session, question_id=question.id)  # papers drawn ahead would carry the old text
    session.flush()
    audit.record(session, user, "exam_question.save", question, bank_id=bank.id)
    return question


def deactivate_question(session: Session, user, question: Question) -> None:
    """Withdraw a question from future draws (it stays on papers that already carry it)."""
    if not can_edit_bank(user, question.bank):
        raise Forbidden(_("您不能修改这个题库"))
    question.is_active = False
    discard_prepared(session, question_id=question.id)  # not yet on any trainee's paper: draw it no more
    session.flush()
    audit.record(session, user, "exam_question.deactivate", question)


def answer_text(question) -> str:
    """The correct answer as a person writes it: "AC", "正确", or the reference answer."""
    if question.type == QuestionType.true_false:
        return "正确" if question.answer == ["T"] else "错误"
    if question.type == QuestionType.short_answer:
        return question.reference_answer
    return "".join(question.answer)


def answer_label(question) -> str:
    """The correct answer as the bank's list shows it: true/false in the interface's language (the export and the
    edit form keep ``answer_text``, the words an import reads)."""
    if question.type == QuestionType.true_false:
        return _("正确") if question.answer == ["T"] else _("错误")
    return answer_text(question)


def option_text(question, option: dict) -> str:
    """An option's words as a page shows them: true/false in the interface's language, others as written."""
    if question.type == QuestionType.true_false:
        return _("正确") if option["id"] == "T" else _("错误")
    return option["text"]


def knowledge_points(session: Session, bank_ids: list[int]) -> list[str]:
    """The distinct knowledge points of the banks, for filters and blueprint rules."""
    if not bank_ids:
        return []
    return list(session.scalars(select(Question.knowledge_point).where(Question.bank_id.in_(bank_ids))
                                .distinct().order_by(Question.knowledge_point)))
