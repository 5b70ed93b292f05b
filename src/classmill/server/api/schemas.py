"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from classmill.server.db.models import Role


class Credentials(BaseModel):
    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    disabled: bool
    created_at: datetime


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="send as X-CSRF-Token with unsafe requests that use the cookie")


class NewUser(Credentials):
    role: Role = Role.member


class NewPassword(BaseModel):
    password: str = Field(max_length=1024)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class TokenRequest(BaseModel):
    name: str = Field(max_length=100)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedToken(TokenOut):
    token: str = Field(description="the token itself; shown only in this answer, store it now")


class SetupStatus(BaseModel):
    needed: bool


class Health(BaseModel):
    status: str
    version: str
    database: str
