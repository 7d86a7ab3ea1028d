"""The run store: one SQLite file per run (sqlite-utils).

Holds what a run learns and spends, with provenance: modules, probe and training
items, the teacher's answers to probes, every round's per-item assessment, the
teacher-call cache and a log of real teacher calls, and an event log of curriculum
decisions. Rows are keyed by content so re-running a node after a crash upserts the
same rows instead of adding new ones. It does not hold graph state (the LangGraph
checkpointer does) nor large artifacts (datasets and adapters live on disk).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from ioa_agent.items import Item, ModuleSpec

if TYPE_CHECKING:
    from ioa_agent.teacher.cached import TeacherCall


class RunStore:
    """Typed access to a run's SQLite store."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = sqlite_utils.Database(self.path)
        self.db.conn.execute("PRAGMA journal_mode=WAL")
        self.db.conn.execute("PRAGMA synchronous=FULL")
        self._create()

    def _create(self) -> None:
        db = self.db
        if "modules" not in db.table_names():
            db["modules"].create(
                {"id": str, "description": str, "levels": int, "prerequisites": str}, pk="id"
            )
            db["items"].create(
                {
                    "id": str,
                    "role": str,
                    "round": int,
                    "module": str,
                    "level": int,
                    "prompt": str,
                    "answer": str,
                    "rationale": str,
                    "strategy": str,
                    "variant": str,
                    "parent": str,
                    "rendering": str,
                    "tests": str,
                    "teacher": str,
                },
                pk=("role", "round", "id"),
            )
            db["items"].create_index(["role", "module"])
            db["teacher_answers"].create(
                {"item_id": str, "answer": str, "correct": int}, pk="item_id"
            )
            db["assessments"].create(
                {
                    "round": int,
                    "item_id": str,
                    "module": str,
                    "level": int,
                    "output": str,
                    "extracted": str,
                    "correct": int,
                },
                pk=("round", "item_id"),
            )
            db["teacher_cache"].create(
                {
                    "key": str,
                    "task": str,
                    "request": str,
                    "response": str,
                    "error": str,
                    "created": float,
                },
                pk="key",
            )
            db["teacher_calls"].create(
                {
                    "seq": int,
                    "key": str,
                    "task": str,
                    "node": str,
                    "tokens_in": int,
                    "tokens_out": int,
                    "cost": float,
                    "seconds": float,
                    "attempts": int,
                    "faults": str,
                    "error": str,
                    "created": float,
                },
                pk="seq",
            )
            db["teacher_calls"].create_index(["key"])
            db["teacher_hits"].create({"node": str, "hits": int}, pk="node")
            db["events"].create(
                {"key": str, "node": str, "kind": str, "payload": str, "created": float},
                pk="key",
            )

    # modules -------------------------------------------------------------------
    def save_modules(self, modules: list[ModuleSpec]) -> None:
        rows = [
            {
                "id": m.id,
                "description": m.description,
                "levels": m.levels,
                "prerequisites": json.dumps(m.prerequisites),
            }
            for m in modules
        ]
        self.db["modules"].upsert_all(rows, pk="id")

    def modules(self) -> list[ModuleSpec]:
        return [
            ModuleSpec(
                id=r["id"],
                description=r["description"],
                levels=r["levels"],
                prerequisites=json.loads(r["prerequisites"]),
            )
            for r in self.db["modules"].rows_where(order_by="rowid")
        ]

    # items ---------------------------------------------------------------------
    def save_items(self, items: Iterable[Item], role: str, round: int, teacher: str) -> None:
        rows = [
            {
                "id": it.id,
                "role": role,
                "round": round,
                "teacher": teacher,
                **it.model_dump(),
                "tests": json.dumps(it.tests),
            }
            for it in items
        ]
        with self.db.atomic():
            self.db["items"].upsert_all(rows, pk=("role", "round", "id"), alter=True)

    def items(
        self, role: str, module: str | None = None, before_round: int | None = None
    ) -> list[Item]:
        where, args = "role = ?", [role]
        if module is not None:
            where, args = where + " and module = ?", [*args, module]
        if before_round is not None:
            where, args = where + " and round < ?", [*args, before_round]
        fields = Item.model_fields
        return [
            Item(
                **{k: r[k] for k in fields if k != "tests" and r.get(k) is not None},
                tests=json.loads(r["tests"] or "[]"),
            )
            for r in self.db["items"].rows_where(where, args, order_by="rowid")
        ]

    # teacher's answers to probes (P_T) --------------------------------------------
    def save_teacher_answers(self, rows: list[dict[str, Any]]) -> None:
        with self.db.atomic():
            self.db["teacher_answers"].upsert_all(rows, pk="item_id")

    def teacher_answers(self) -> dict[str, dict[str, Any]]:
        return {r["item_id"]: r for r in self.db["teacher_answers"].rows}

    # assessments ---------------------------------------------------------------
    def save_assessment(self, round: int, rows: list[dict[str, Any]]) -> None:
        with self.db.atomic():
            self.db["assessments"].upsert_all(
                [{"round": round, **r} for r in rows], pk=("round", "item_id")
            )

    def assessment(self, round: int) -> list[dict[str, Any]]:
        return list(self.db["assessments"].rows_where("round = ?", [round], order_by="item_id"))

    def assessed_rounds(self) -> list[int]:
        sql = "select distinct round from assessments order by round"
        return [r[0] for r in self.db.execute(sql).fetchall()]

    # teacher-call cache ----------------------------------------------------------
    def cache_get(self, key: str) -> tuple[Any, str | None] | None:
        """(response, error) of a call made before, or None if it never was."""
        row = self.db.execute(
            "select response, error from teacher_cache where key = ?", [key]
        ).fetchone()
        return None if row is None else (json.loads(row[0]), row[1])

    def call_tokens(self, keys: list[str]) -> int:
        """Tokens (in + out) the calls of `keys` cost when they were made."""
        total = 0
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            row = self.db.execute(
                "select coalesce(sum(tokens_in + tokens_out), 0) from teacher_calls"
                f" where key in ({marks})",
                chunk,
            ).fetchone()
            total += int(row[0])
        return total

    def cache_put(self, key: str, task: str, request: Any, call: TeacherCall) -> None:
        """Store one real teacher call and its answer (or its failure), committed at once."""
        now = time.time()
        with self.db.atomic():
            self.db["teacher_cache"].upsert(
                {
                    "key": key,
                    "task": task,
                    "request": json.dumps(request, sort_keys=True),
                    "response": json.dumps(call.response),
                    "error": call.error,
                    "created": now,
                },
                pk="key",
            )
            self.db["teacher_calls"].insert(
                {
                    "key": key,
                    "task": task,
                    "node": call.node,
                    "tokens_in": call.tokens_in,
                    "tokens_out": call.tokens_out,
                    "cost": call.cost,
                    "seconds": call.seconds,
                    "attempts": call.attempts,
                    "faults": json.dumps(call.faults),
                    "error": call.error,
                    "created": now,
                }
            )

    def add_hits(self, node: str, hits: int) -> None:
        """Count answers served from the cache (a resumed run's saved calls)."""
        if hits:
            with self.db.atomic():
                self.db.execute(
                    "insert into teacher_hits (node, hits) values (?, ?)"
                    " on conflict(node) do update set hits = hits + excluded.hits",
                    [node, hits],
                )

    def teacher_usage(self) -> dict[str, int]:
        row = self.db.execute(
            "select count(*), count(distinct key), coalesce(sum(tokens_in), 0),"
            " coalesce(sum(tokens_out), 0) from teacher_calls"
        ).fetchone()
        return {"calls": row[0], "distinct": row[1], "tokens_in": row[2], "tokens_out": row[3]}

    def tokens_per_written_item(self) -> float | None:
        """Teacher tokens (in + out) per item of the `write_items` calls paid for so far,
        call overhead included; None before any."""
        row = self.db.execute(
            "select coalesce(sum(c.tokens_in + c.tokens_out), 0),"
            " coalesce(sum(json_extract(k.request, '$.n')), 0) from teacher_calls c"
            " join teacher_cache k on k.key = c.key where c.task = 'write_items'"
        ).fetchone()
        return row[0] / row[1] if row[1] else None

    def teacher_usage_by_node(self) -> list[dict[str, Any]]:
        """Per node: real calls, tokens, cost, seconds, failed calls, faults, cache hits."""
        out: dict[str, dict[str, Any]] = {}
        sql = (
            "select node, count(*), coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0),"
            " coalesce(sum(cost), 0), coalesce(sum(seconds), 0),"
            " sum(error is not null) from teacher_calls group by node order by min(seq)"
        )
        for node, calls, t_in, t_out, cost, secs, failed in self.db.execute(sql).fetchall():
            out[node] = {
                "node": node,
                "calls": calls,
                "tokens_in": t_in,
                "tokens_out": t_out,
                "cost": cost,
                "seconds": secs,
                "failed": failed,
                "faults": {},
                "hits": 0,
            }
        for node, faults in self.db.execute("select node, faults from teacher_calls"):
            for kind, n in json.loads(faults or "{}").items():
                counts = out[node]["faults"]
                counts[kind] = counts.get(kind, 0) + n
        for row in self.db["teacher_hits"].rows:
            out.setdefault(
                row["node"],
                {
                    "node": row["node"],
                    "calls": 0,
                    "tokens_in": 0,
                    "tokens_out": 0,
                    "cost": 0.0,
                    "seconds": 0.0,
                    "failed": 0,
                    "faults": {},
                    "hits": 0,
                },
            )["hits"] = row["hits"]
        return list(out.values())

    def teacher_failures(self) -> list[dict[str, Any]]:
        """Calls whose answer stayed malformed after the re-asks, with the reason."""
        rows = self.db["teacher_cache"].rows_where("error is not null", order_by="rowid")
        return [{"task": r["task"], "request": r["request"], "error": r["error"]} for r in rows]

    # events --------------------------------------------------------------------
    def log_event(self, key: str, node: str, kind: str, payload: dict[str, Any]) -> None:
        """Record a decision once: a node re-run after a crash overwrites its own event."""
        row = {"key": key, "node": node, "kind": kind, "payload": json.dumps(payload)}
        with self.db.atomic():
            self.db["events"].upsert({**row, "created": time.time()}, pk="key")

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        where, args = ("kind = ?", [kind]) if kind else (None, [])
        rows = self.db["events"].rows_where(where, args, order_by="rowid")
        return [{**r, "payload": json.loads(r["payload"])} for r in rows]

    def close(self) -> None:
        self.db.conn.close()
