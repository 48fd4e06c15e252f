"""The identity functions: user-login, user-me, user-create, user-get, user-list, user-update."""
from __future__ import annotations

from ..operations import PUBLIC, SIGNED_IN, operation
from ..schemas import Page
from . import services
from .schemas import LoginIn, TokenOut, UserCreateIn, UserIdIn, UserListIn, UserOut, UserUpdateIn

# Not transactional: login opens its own short units of work around the ~0.2 s password check
# (a read before, a write after), and counts the attempt before either, exactly once.
operation(
    "user-login", service="user", summary="Sign in: username and password for an access token",
    input=LoginIn, output=TokenOut, roles=PUBLIC, transactional=False, scale="hot",
)(services.login)
operation(
    "user-me", service="user", summary="The signed-in user", output=UserOut, roles=SIGNED_IN, methods=("GET",),
)(services.me)
operation(
    "user-create", service="user", summary="Create a user with roles", input=UserCreateIn, output=UserOut,
    roles=("admin",), status=201, idempotent=True,
)(services.create_user)
operation(
    "user-get", service="user", summary="One user by id", input=UserIdIn, output=UserOut,
    roles=("admin", "manager"), methods=("GET",), path="/{user_id}",
)(services.get_user)
operation(
    "user-list", service="user", summary="List and search users", input=UserListIn, output=Page[UserOut],
    roles=("admin", "manager"), methods=("GET",),
)(services.list_users)
operation(
    "user-update", service="user", summary="Change a user's details, roles, active flag or password",
    input=UserUpdateIn, output=UserOut, roles=("admin",), methods=("POST", "PATCH", "PUT"), path="/{user_id}",
)(services.update_user)
