"""The pages of the API that are for people: what each problem `type` (api.problems) means and what to do about it.

A problem's `type` is `/api/problems/<code>`; that address is a page of the site (in the reader's language), listing
every code at /api/problems/."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .problems import ADVICE, PROBLEMS, type_uri


@dataclass(frozen=True)
class ProblemPage:
    code: str
    status: int
    title: str
    advice: str
    type: str


def _entries() -> list[ProblemPage]:
    return [ProblemPage(code=code, status=status, title=str(title), advice=str(ADVICE[code]), type=type_uri(code))
            for code, (status, title) in PROBLEMS.items()]


def problems(request: HttpRequest, code: str | None = None) -> HttpResponse:
    entries = _entries()
    if code is not None:
        entries = [entry for entry in entries if entry.code == code]
        if not entries:
            raise Http404("no such problem")
    return render(request, "api/problems.html", {"problems": entries, "code": code})
