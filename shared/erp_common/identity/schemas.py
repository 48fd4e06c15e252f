"""Identity inputs and outputs."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from ..auth import ROLES
from ..schemas import Id, Input, Line, Output, PageQuery, UtcDateTime

Role = Literal[
    "admin", "manager", "merchandiser", "warehouse", "purchaser", "planner", "cashier", "marketing", "accountant"
]
assert set(Role.__args__) == set(ROLES)  # type: ignore[attr-defined]

Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[Line, Field(min_length=8, max_length=128)]
Email = Annotated[Line, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def _unique_roles(roles: list[str]) -> list[str]:
    if len(set(roles)) != len(roles):
        raise ValueError("a role is listed twice")
    return sorted(roles)


class LoginIn(Input):
    username: Annotated[Line, Field(min_length=1, max_length=64)]
    password: Annotated[Line, Field(min_length=1, max_length=128)]


class UserOut(Output):
    id: int
    username: str
    full_name: str
    email: str | None
    roles: list[str]
    is_active: bool
    created_at: UtcDateTime
    updated_at: UtcDateTime
    last_login_at: UtcDateTime | None


class TokenOut(Output):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")
    expires_at: UtcDateTime
    user: UserOut


class UserCreateIn(Input):
    username: Username
    password: Password
    full_name: Annotated[Line, Field(max_length=100)] = ""
    email: Email | None = None
    roles: Annotated[list[Role], Field(min_length=1)]

    _roles = field_validator("roles")(_unique_roles)


class UserIdIn(Input):
    user_id: Id


class UserUpdateIn(Input):
    user_id: Id
    full_name: Annotated[Line, Field(max_length=100)] | None = None
    email: Email | None = None
    roles: Annotated[list[Role], Field(min_length=1)] | None = None
    is_active: bool | None = None
    password: Password | None = Field(None, description="a new password (a reset); signs the user out everywhere")

    @field_validator("roles")
    @classmethod
    def _roles(cls, roles: list[str] | None) -> list[str] | None:
        return None if roles is None else _unique_roles(roles)


class UserListIn(PageQuery):
    q: Annotated[Line, Field(max_length=64)] | None = Field(None, description="part of the username or name")
    role: Role | None = None
    is_active: bool | None = None
