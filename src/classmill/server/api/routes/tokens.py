"""Personal API tokens of the logged-in user."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from classmill.server.api.deps import CurrentUser, SessionDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.api.schemas import CreatedToken, TokenOut, TokenRequest
from classmill.server.services import tokens

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a token; the answer is the only time it is shown")
def create_token(body: TokenRequest, user: CurrentUser, session: SessionDep, response: Response) -> CreatedToken:
    created = tokens.create_token(session, user, body.name)
    response.headers["Cache-Control"] = "no-store"  # no cache or proxy may keep the secret
    return CreatedToken(**TokenOut.model_validate(created.row).model_dump(), token=created.secret)


@router.get("", summary="My tokens: name, prefix, created, last used, revoked (paged, oldest first)")
def list_tokens(user: CurrentUser, session: SessionDep, page: PageDep) -> Page[TokenOut]:
    found = tokens.list_tokens(session, user, page)
    return Page(items=[TokenOut.model_validate(row) for row in found.rows], total=found.total,
                limit=page.limit, offset=page.offset)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke one of my tokens")
def revoke_token(token_id: DbId, user: CurrentUser, session: SessionDep) -> Response:
    tokens.revoke_token(session, user, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
