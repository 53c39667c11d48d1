"""Accounts: creating users, checking sign-ins and the password rules."""

import sqlalchemy as sa
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth import sign_ins, throttle
from app.extensions import db
from app.models import Commune, Role, User
from app.models.audit import record
from app.text import clean_name, normalise_phone

MIN_PASSWORD_LENGTH = 8
# Passwords that people in Vietnam pick first; refused whatever their length.
COMMON_PASSWORDS = frozenset({
    "12345678", "123456789", "1234567890", "87654321", "11111111", "88888888", "66666666",
    "00000000", "12341234", "11223344", "password", "password1", "matkhau", "matkhau123",
    "abc12345", "abcd1234", "qwerty123", "iloveyou", "admin123", "123123123", "vietnam123",
    "daklak123", "anhyeuem", "emyeuanh",
})  # fmt: skip
# Compared against when the phone is unknown, so a wrong phone takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """A user could not be created; the message is ready to show."""


def password_problem(password: str, phone: str | None) -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    digits = "".join(ch for ch in password if ch.isdigit())
    if phone and (password == phone or (digits == password and normalise_phone(digits) == phone)):
        return _("Do not use your phone number as the password.")
    if password.lower() in COMMON_PASSWORDS:
        return _("This password is too easy to guess. Choose another one.")
    return None


class SignInRefused(Exception):
    """Too many recent failures for this phone number: the password was not even checked."""


def authenticate(phone: str, password: str) -> User | None:
    """The active user with this phone and password, or None (for any reason at all).

    Every failure is counted against the typed phone number, whether or not an account has
    it; once it has failed too often, SignInRefused is raised without checking the password
    (and the attempt is counted too). A success forgets the failures. The caller commits.
    """
    key = throttle.identifier_hash(phone)
    if throttle.is_refused(key):
        throttle.record_failure(key)
        raise SignInRefused
    user = _check_password(phone, password)
    if user is None:
        throttle.record_failure(key)
    else:
        throttle.clear(key)
    return user


def _check_password(phone: str, password: str) -> User | None:
    normalised = normalise_phone(phone)
    user = db.session.scalar(sa.select(User).where(User.phone == normalised)) if normalised else None
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def create_user(
    *, phone: str, full_name: str, role: str, password: str, commune_code: str | None = None, actor: User | None = None
) -> User:
    """Validate and add a user, with an audit row. Raises AccountError with a message."""
    normalised = normalise_phone(phone)
    if normalised is None:
        raise AccountError(_("This is not a Vietnamese phone number."))
    name = clean_name(full_name)
    if not 1 <= len(name) <= 120:
        raise AccountError(_("The name must be 1 to 120 characters."))
    try:
        role_enum = Role(role)
    except ValueError:
        raise AccountError(_("Unknown role.")) from None
    commune = None
    if role_enum.belongs_to_commune:
        if not commune_code:
            raise AccountError(_("Volunteers and commune officers need a commune code."))
        commune = db.session.scalar(sa.select(Commune).where(Commune.code == commune_code))
        if commune is None:
            raise AccountError(_("No commune has the code %(code)s.", code=commune_code))
    elif commune_code:
        raise AccountError(_("Province staff and admins do not belong to a commune."))
    problem = password_problem(password, normalised)
    if problem:
        raise AccountError(problem)
    if db.session.scalar(sa.select(User.id).where(User.phone == normalised)):
        raise AccountError(_("A user with this phone number already exists."))

    user = User(phone=normalised, full_name=name, role=role_enum.value, commune=commune)
    user.set_password(password)
    db.session.add(user)
    record(actor.id if actor else None, "user.create", user,
           changes={"role": role_enum.value, "commune": commune_code})  # fmt: skip
    return user


def change_password(user: User, new_password: str, keep_sign_in: str | None) -> None:
    """Set a new password and end the user's other sign-ins (the one behind keep_sign_in,
    the session making the change, stays). The caller commits."""
    user.set_password(new_password)
    ended = sign_ins.end_others(user, keep_sign_in)
    record(user.id, "user.change_password", user, commune_id=user.commune_id, changes={"sign_ins_ended": ended})
