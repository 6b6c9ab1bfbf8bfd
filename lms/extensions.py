"""Flask extensions, created unbound and attached in ``create_app``. Imports nothing from the features."""
from flask import has_request_context, request
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from lms import ratelimit  # noqa: F401  (registers the lms-memory:// rate-limit storage)

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def select_locale() -> str:
    """The visitor's chosen language (cookie), else Simplified Chinese. Browsers' Accept-Language is
    deliberately not followed: the product's users are Chinese and many run English-language browsers."""
    if has_request_context() and request.cookies.get("lang") == "en":
        return "en"
    return "zh_Hans_CN"
