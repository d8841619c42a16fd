"""The fake Bot API HTTP server (tornado on 127.0.0.1, ephemeral port)."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

from .formatting import EntityParseError, parse_entities, trim_text
from .spec import BotApiSpec, ObjectSpec, Problem, UploadedFile, guess_decode, load_spec

__all__ = ["ApiError", "Call", "FakeBotApi"]

DEFAULT_TOKEN = "123:ABC"
DEFAULT_BOT_USERNAME = "ldn_test_bot"
DEFAULT_BOT_FIRST_NAME = "LDN Test Bot"

#: Update types Telegram leaves out when ``allowed_updates`` is empty or was never given.
_NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MESSAGE_KEYS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class Call:
    """One request the server answered.

    ``method`` is the name exactly as requested (Telegram matches it case-insensitively;
    ``spec_method`` is the canonical spelling, ``None`` for unknown methods). ``params`` are the
    decoded parameters (numbers, booleans, objects and arrays decoded per the spec types;
    uploaded files as :class:`UploadedFile`). ``time`` is ``time.monotonic()`` at arrival;
    ``status`` and ``response`` are the HTTP status and the JSON body sent back.
    """

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    spec_method: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")

    def summary(self) -> str:
        params = json.dumps(self.params, ensure_ascii=False, default=repr)
        if len(params) > 160:
            params = params[:157] + "..."
        return f"{self.method} -> {self.status} {params}"


class ApiError(Exception):
    """An error answer (``{"ok": false, ...}``) raised by a method implementation."""

    def __init__(
        self,
        error_code: int,
        description: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        record: bool = True,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = dict(parameters or {})
        #: Whether the server lists this answer in ``FakeBotApi.errors``.
        self.record = record

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class _Failure:
    method: str
    error: ApiError
    when: Callable[[dict[str, Any]], bool] | None
    times: int


@dataclass
class _Poll:
    disconnected: bool = False
    superseded: bool = False


class _Signal:
    """Wakes every waiter when something happened (new update, new call, shutdown)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float) -> bool:
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class FakeBotApi:
    """A fake Telegram Bot API server that checks every call against Telegram's spec.

    Use ``async with FakeBotApi() as server:`` and point the bot at ``server.base_url`` and
    ``server.base_file_url``. See the package docstring for the full tour.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        spec_path: str | Path | None = None,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
        strict_chats: bool = False,
        max_poll_timeout: float | None = None,
    ) -> None:
        self.token = token
        self.spec: BotApiSpec | None
        self.skip_reason: str | None
        self.spec, self.skip_reason = load_spec(spec_path)
        prefix = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(prefix) if prefix.isdigit() else 123456789,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        #: Refuse (400 "chat not found") sends to chats no pushed update or add_chat() showed.
        self.strict_chats = strict_chats
        #: Upper bound for a getUpdates long poll, whatever ``timeout`` the bot asks for.
        self.max_poll_timeout = max_poll_timeout
        #: Calls Telegram would refuse or that break the spec's contract (each one also got a
        #: 400/404 answer). ``assert_no_violations()`` fails if there is any.
        self.violations: list[str] = []
        #: Error answers that came from the chat state, not the spec (message to edit not
        #: found, message is not modified, unknown callback query, getUpdates conflict ...).
        self.errors: list[str] = []
        self.calls: list[Call] = []
        #: Spec methods the fake has no behaviour for (answered by _generic).
        self.unhandled_methods: list[str] = []
        #: Updates dropped because the bot's allowed_updates excluded them.
        self.dropped_updates: list[dict[str, Any]] = []
        self.webhook_url = ""
        self.webhook_params: dict[str, Any] = {}
        #: setMyCommands state: key "<scope JSON>|<language_code>" -> list of BotCommand.
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = {}
        self._callback_queries: dict[str, bool] = {}
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._failures: list[_Failure] = []
        self._channel_ids = itertools.count(-1009000000001, -1)
        self._file_ids = itertools.count(1)
        #: Called with (method, params) for every valid call before it is handled: an ApiError
        #: to answer with instead (see tests/fakebotapi/faults.py), or None.
        self.fault: Callable[[str, dict[str, Any]], ApiError | None] | None = None
        #: Seconds each answer (except getUpdates') is held back: Telegram's round trip.
        self.latency: float = 0.0
        #: Telegram's flood limits, enforced with 429 when set (see faults.RateLimits).
        self.limits: Any = None
        self._update_signal = _Signal()
        self._call_signal = _Signal()
        self._poll_signal = _Signal()
        self._http: tornado.httpserver.HTTPServer | None = None
        self._port: int | None = None
        self._closing = False
        self._active_poll: _Poll | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._http is not None:
            raise RuntimeError("FakeBotApi is already running")
        app = tornado.web.Application(
            [
                (r"/bot([^/]*)/([^/]*)", _BotHandler, {"server": self}),
                (r"/file/bot([^/]*)/(.+)", _FileHandler, {"server": self}),
                (r"/.*", _NotFoundHandler),
            ],
            log_function=lambda handler: None,
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self._port = sockets[0].getsockname()[1]
        self._http = tornado.httpserver.HTTPServer(app)
        self._http.add_sockets(sockets)
        self._closing = False

    async def stop(self) -> None:
        """Stop listening, end pending long polls and close all connections."""
        self._closing = True
        self._update_signal.notify()
        self._call_signal.notify()
        self._poll_signal.notify()
        if self._http is not None:
            # Let a pending long poll answer (with []) before its connection is closed.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 2.0
            while self._active_poll is not None and loop.time() < deadline:
                await self._poll_signal.wait(deadline - loop.time())
            self._http.stop()
            await self._http.close_all_connections()
            self._http = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``; PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def bot_username(self) -> str:
        return str(self.bot_user["username"])

    # -- test API -------------------------------------------------------------------------
    def push_update(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates. ``update_id`` is assigned if absent. The update is
        checked against the spec's Update type (ValueError if the test built a bad one).
        Returns the queued update."""
        queued = copy.deepcopy(dict(update))
        if "update_id" not in queued:
            queued["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(queued["update_id"])) + 1
        kinds = [key for key in queued if key != "update_id"]
        if len(kinds) != 1:
            raise ValueError(f"an Update holds exactly one update type, got {kinds}")
        for key in _MESSAGE_KEYS:
            if isinstance(queued.get(key), dict):
                self._complete_message(queued[key])
        query = queued.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("message"), dict):
            self._complete_message(query["message"])
        if self.spec is not None:
            problems = self.spec.check_object(queued, "Update", "update")
            if problems:
                raise ValueError(
                    "pushed update does not match the Bot API spec:\n"
                    + "\n".join(f"- {p}" for p in problems)
                )
        self._register_update(queued)
        self._updates.append(queued)
        self._update_signal.notify()
        return copy.deepcopy(queued)

    def add_chat(self, chat: Mapping[str, Any]) -> None:
        """Make a chat known (for ``strict_chats`` and for the chat objects in answers)."""
        self._chats[int(chat["id"])] = dict(chat)

    def add_file(
        self, content: bytes, *, file_path: str | None = None, file_id: str | None = None
    ) -> str:
        """Serve ``content`` via getFile/``base_file_url``; returns the file_id."""
        number = next(self._file_ids)
        file_id = file_id or f"file-{number}"
        info = {
            "file_id": file_id,
            "file_unique_id": f"unique-{number}",
            "file_size": len(content),
            "file_path": file_path or f"documents/file_{number}",
        }
        self._files[file_id] = (info, content)
        return file_id

    def fail_next(
        self,
        method: str,
        error_code: int = 400,
        description: str | None = None,
        retry_after: int | None = None,
        *,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer the next ``times`` valid calls of ``method`` (whose params satisfy ``when``)
        with an error, e.g. ``fail_next("sendMessage", 429, retry_after=3)`` or
        ``fail_next("sendMessage", 403)`` ("Forbidden: bot was blocked by the user")."""
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        parameters: dict[str, Any] = {}
        if retry_after is not None or error_code == 429:
            parameters["retry_after"] = retry_after or 1
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        error = ApiError(error_code, description, parameters)
        self._failures.append(_Failure(method.lower(), error, when, times))

    def mark(self) -> int:
        """Current number of calls, for ``wait_for(..., since=server.mark())``."""
        return len(self.calls)

    def calls_to(self, method: str) -> list[Call]:
        """Calls of ``method`` (case-insensitive), oldest first."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
        count: int = 1,
        *,
        since: int = 0,
    ) -> Call:
        """Wait until ``count`` calls of ``method`` matching ``predicate`` arrived (among
        ``calls[since:]``) and return the ``count``-th one. Raises AssertionError listing the
        calls seen if that does not happen within ``timeout`` seconds."""
        calls = await self.wait_for_all(method, predicate, timeout, count, since=since)
        return calls[-1]

    async def wait_for_all(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
        count: int = 1,
        *,
        since: int = 0,
    ) -> list[Call]:
        """Like :meth:`wait_for` but return all ``count`` matching calls."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wanted = method.lower()
        while True:
            matches = [
                call
                for call in self.calls[since:]
                if call.method.lower() == wanted and (predicate is None or predicate(call))
            ]
            if len(matches) >= count:
                return matches[:count]
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                seen = "\n".join(f"  {call.summary()}" for call in self.calls[since:]) or "  none"
                problems = "".join(f"\n  violation: {v}" for v in self.violations)
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} matching {method} "
                    f"call(s), got {len(matches)}; calls seen:\n{seen}{problems}"
                )
            await self._call_signal.wait(remaining)

    async def wait_for_any_call(self, timeout: float) -> bool:
        """Wait until the next call arrives; False if none came within ``timeout`` seconds."""
        return await self._call_signal.wait(timeout)

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now."""
        return self._active_poll is not None

    async def wait_for_poll(self, timeout: float = 10.0) -> None:
        """Wait until the bot has a getUpdates long poll pending (it is ready for updates)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._active_poll is None:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                raise AssertionError(f"no getUpdates long poll started within {timeout}s")
            await self._poll_signal.wait(remaining)

    def assert_no_violations(self) -> None:
        if self.violations:
            listed = "\n".join(f"- {v}" for v in self.violations)
            raise AssertionError(f"{len(self.violations)} Bot API violation(s):\n{listed}")

    def last_message(self, chat_id: int) -> dict[str, Any] | None:
        """The latest message the bot sent to ``chat_id`` (as it is now, edits included)."""
        messages = self.bot_messages(chat_id)
        return messages[-1] if messages else None

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages still present in ``chat_id``, oldest first."""
        return [
            copy.deepcopy(message)
            for (chat, _), message in sorted(self._messages.items())
            if chat == chat_id and message.get("from", {}).get("id") == self.bot_user["id"]
        ]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._updates)

    # -- request handling -----------------------------------------------------------------
    async def _handle(self, handler: _BotHandler, token: str, method: str) -> None:
        arrived = time.monotonic()
        if token != self.token:
            self.violations.append(f"{method}: request with wrong bot token {token!r}")
            body = ApiError(401, "Unauthorized").body()
            self._record(Call(method, {}, arrived, 401, body))
            handler.respond(401, body)
            return
        raw, files, request_problems = _read_params(handler.request)
        spec_method = self.spec.method(method) if self.spec is not None else None
        for key, upload in files.items():
            # A file part named like a parameter is that parameter; any other part is an
            # attachment referenced as attach://<name> from another parameter.
            if spec_method is None or key in spec_method.fields:
                raw.setdefault(key, upload)
        uploads = frozenset(files)
        if self.spec is not None and spec_method is None:
            self.violations.append(f"{method}: no such method in Bot API {self.spec.version}")
            body = ApiError(404, "Not Found").body()
            guessed = {key: guess_decode(value) for key, value in raw.items()}
            self._record(Call(method, guessed, arrived, 404, body))
            handler.respond(404, body)
            return
        params: dict[str, Any]
        problems: list[Problem] = list(request_problems)
        if self.spec is not None and spec_method is not None:
            params, call_problems = self.spec.validate_call(spec_method, raw, attachments=uploads)
            problems.extend(call_problems)
        else:
            params = {key: guess_decode(value) for key, value in raw.items()}
        name = spec_method.name if spec_method is not None else method
        status, body = 200, {}
        if problems:
            self.violations.extend(f"{name}: {problem}" for problem in problems)
            status, body = 400, ApiError(400, problems[0].telegram_description()).body()
        else:
            failure = self._take_failure(method, params)
            if failure is None and self.fault is not None:
                failure = self.fault(name, params)
            if failure is None and self.limits is not None:
                failure = self.limits.check(name, params, arrived)
            if self.latency and name != "getUpdates":
                await asyncio.sleep(self.latency)
            try:
                if failure is not None:
                    raise failure
                result = await self._dispatch(name, spec_method, params, handler)
                body = {"ok": True, "result": result}
            except ApiError as exc:
                status, body = exc.error_code, exc.body()
                if failure is None and exc.record:
                    self.errors.append(f"{name}: {exc.description}")
            except Exception as exc:  # a bug in the fake itself must fail the test
                self.violations.append(f"{name}: INTERNAL ERROR in the fake server: {exc!r}")
                status, body = 500, ApiError(500, f"Internal Server Error: {exc!r}").body()
        self._record(Call(method, params, arrived, status, body, name if spec_method else None))
        handler.respond(status, body)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._call_signal.notify()

    def _take_failure(self, method: str, params: dict[str, Any]) -> ApiError | None:
        for failure in self._failures:
            if failure.method == method.lower() and (failure.when is None or failure.when(params)):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure.error
        return None

    async def _dispatch(
        self,
        name: str,
        spec_method: ObjectSpec | None,
        params: dict[str, Any],
        handler: _BotHandler,
    ) -> Any:
        simple: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda _: dict(self.bot_user),
            "logOut": lambda _: True,
            "close": lambda _: True,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "sendChatAction": lambda _: True,
            "answerCallbackQuery": self._answer_callback_query,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getFile": self._get_file,
        }
        if name == "getUpdates":
            poll = handler.poll = _Poll()
            return await self._get_updates(params, poll)
        implementation = simple.get(name)
        if implementation is not None:
            return implementation(params)
        self.unhandled_methods.append(name)
        return self._generic(name, spec_method, params)

    # -- updates --------------------------------------------------------------------------
    def _register_update(self, update: dict[str, Any]) -> None:
        for key in _MESSAGE_KEYS:
            if isinstance(update.get(key), dict):
                self._register_message(update[key])
        query = update.get("callback_query")
        if isinstance(query, dict):
            self._callback_queries[str(query["id"])] = False
            if isinstance(query.get("message"), dict):
                self._register_message(query["message"])
        for key in ("my_chat_member", "chat_member", "chat_join_request"):
            if isinstance(update.get(key), dict) and isinstance(update[key].get("chat"), dict):
                self._register_chat(update[key]["chat"])

    def _complete_message(self, message: dict[str, Any]) -> None:
        """Give a pushed message (and the message it replies to) the next message_id of its
        chat and the current date when the test left them out."""
        if isinstance(message.get("reply_to_message"), dict):
            self._complete_message(message["reply_to_message"])
        chat = message.get("chat")
        if "message_id" not in message and isinstance(chat, dict) and "id" in chat:
            chat_id = int(chat["id"])
            message["message_id"] = self._last_message_id.get(chat_id, 0) + 1
            self._last_message_id[chat_id] = message["message_id"]
        message.setdefault("date", int(time.time()))

    def _register_chat(self, chat: dict[str, Any]) -> None:
        self._chats.setdefault(int(chat["id"]), dict(chat))

    def _register_message(self, message: dict[str, Any]) -> None:
        chat = message.get("chat")
        if not isinstance(chat, dict):
            return
        self._register_chat(chat)
        chat_id, message_id = int(chat["id"]), int(message["message_id"])
        self._messages.setdefault((chat_id, message_id), copy.deepcopy(message))
        self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)
        if isinstance(message.get("reply_to_message"), dict):
            self._register_message(message["reply_to_message"])

    async def _get_updates(self, params: dict[str, Any], poll: _Poll) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _int(params.get("offset"), 0)
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = max(float(_int(params.get("timeout"), 0)), 0.0)
        if self.max_poll_timeout is not None:
            timeout = min(timeout, self.max_poll_timeout)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if self._active_poll is not None:
            self._active_poll.superseded = True
            self._update_signal.notify()
        self._active_poll = poll
        self._poll_signal.notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if poll.superseded:
                    # Not listed in errors: PTB abandons its long poll on shutdown and the
                    # server may see the next getUpdates before noticing the disconnect.
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                        record=False,
                    )
                ready = self._deliverable(limit)
                if ready or self._closing or poll.disconnected:
                    return ready
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                await self._update_signal.wait(remaining)
        finally:
            if self._active_poll is poll:
                self._active_poll = None
                self._poll_signal.notify()

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        kept: list[dict[str, Any]] = []
        for update in self._updates:
            kind = next(key for key in update if key != "update_id")
            excluded = kind not in allowed if allowed else kind in _NOT_DEFAULT_UPDATES
            if excluded:
                self.dropped_updates.append(update)
            else:
                kept.append(update)
        self._updates = kept
        return copy.deepcopy(kept[:limit])

    # -- webhook & commands ---------------------------------------------------------------
    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = str(params.get("url", ""))
        self.webhook_params = dict(params)
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url and "max_connections" in self.webhook_params:
            info["max_connections"] = self.webhook_params["max_connections"]
        return info

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        return f"{json.dumps(scope, sort_keys=True)}|{params.get('language_code') or ''}"

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands[self._commands_key(params)] = list(params.get("commands") or [])
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    # -- chats & messages -----------------------------------------------------------------
    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if str(chat.get("username", "")).lower() == chat_id[1:].lower():
                    return copy.deepcopy(chat)
            if self.strict_chats:
                raise ApiError(400, "Bad Request: chat not found")
            chat = {"id": next(self._channel_ids), "type": "channel", "title": chat_id[1:]}
            chat["username"] = chat_id[1:]
            self._chats[chat["id"]] = chat
            return copy.deepcopy(chat)
        try:
            number = int(chat_id)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        known = self._chats.get(number)
        if known is not None:
            return copy.deepcopy(known)
        if self.strict_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if number > 0:
            chat = {"id": number, "type": "private", "first_name": f"User {number}"}
        elif number <= -1000000000000:
            chat = {"id": number, "type": "supergroup", "title": f"Supergroup {number}"}
        else:
            chat = {"id": number, "type": "group", "title": f"Group {number}"}
        self._chats[number] = chat
        return copy.deepcopy(chat)

    def _render(
        self, text: str, parse_mode: Any, entities: Any
    ) -> tuple[str, list[dict[str, Any]]]:
        if isinstance(entities, list) and entities:
            return text, copy.deepcopy(entities)
        try:
            plain, found = parse_entities(text, parse_mode if isinstance(parse_mode, str) else None)
        except EntityParseError as exc:
            raise ApiError(400, exc.telegram_description) from None
        except ValueError:
            raise ApiError(400, "Bad Request: unsupported parse_mode") from None
        return trim_text(plain, found)

    def _new_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        chat_id = int(chat["id"])
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": chat,
            "date": int(time.time()),
        }
        if isinstance(params.get("message_thread_id"), int):
            message["message_thread_id"] = params["message_thread_id"]
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            target_chat = chat_id
            if reply.get("chat_id") is not None:
                target_chat = int(self._chat(reply["chat_id"])["id"])
            replied = self._messages.get((target_chat, _int(reply.get("message_id"), 0)))
            if replied is not None:
                replied = {k: v for k, v in replied.items() if k != "reply_to_message"}
                message["reply_to_message"] = copy.deepcopy(replied)
            elif not reply.get("allow_sending_without_reply"):
                self._last_message_id[chat_id] -= 1
                raise ApiError(400, "Bad Request: message to be replied not found")
        message.update({key: value for key, value in content.items() if value})
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = copy.deepcopy(markup)
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = copy.deepcopy(params["link_preview_options"])
        self._messages[(chat_id, message_id)] = message
        return copy.deepcopy(message)

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text, entities = self._render(
            str(params.get("text", "")), params.get("parse_mode"), params.get("entities")
        )
        return self._new_message(params, text=text, entities=entities)

    def _find_message(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        message = self._messages.get((int(chat["id"]), _int(params.get("message_id"), 0)))
        if message is None:
            raise ApiError(400, f"Bad Request: message to {action} not found")
        return message

    def _editable(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find_message(params, "edit")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    @staticmethod
    def _inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            return copy.deepcopy(markup)
        return None

    def _apply_edit(self, message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        before = {key: message.get(key) for key in changes}
        if before == changes:
            raise ApiError(400, _NOT_MODIFIED)
        for key, value in changes.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        message = self._editable(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = self._render(
            str(params.get("text", "")), params.get("parse_mode"), params.get("entities")
        )
        changes = {
            "text": text,
            "entities": entities or None,
            "reply_markup": self._inline_markup(params),
        }
        return self._apply_edit(message, changes)

    def _edit_message_caption(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        message = self._editable(params)
        caption, entities = self._render(
            str(params.get("caption", "")),
            params.get("parse_mode"),
            params.get("caption_entities"),
        )
        changes = {
            "caption": caption or None,
            "caption_entities": entities or None,
            "reply_markup": self._inline_markup(params),
        }
        return self._apply_edit(message, changes)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        message = self._editable(params)
        return self._apply_edit(message, {"reply_markup": self._inline_markup(params)})

    def _delete_message(self, params: dict[str, Any]) -> bool:
        message = self._find_message(params, "delete")
        chat_id = int(message["chat"]["id"])
        del self._messages[(chat_id, int(message["message_id"]))]
        return True

    def _delete_messages(self, params: dict[str, Any]) -> bool:
        chat_id = int(self._chat(params.get("chat_id"))["id"])
        for message_id in params.get("message_ids") or []:
            self._messages.pop((chat_id, _int(message_id, 0)), None)
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        if self._callback_queries.get(query_id, True):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._callback_queries[query_id] = True
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        gift_types = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gift_types,
        }

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        self._chat(params.get("chat_id"))
        user_id = _int(params.get("user_id"), 0)
        if user_id == self.bot_user["id"]:
            user = dict(self.bot_user)
        else:
            known = self._chats.get(user_id, {})
            user = {
                "id": user_id,
                "is_bot": False,
                "first_name": known.get("first_name", f"User {user_id}"),
            }
        return {"status": "member", "user": user}

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        entry = self._files.get(str(params.get("file_id")))
        if entry is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return dict(entry[0])

    def _generic(self, name: str, spec_method: ObjectSpec | None, params: dict[str, Any]) -> Any:
        """Answer for spec methods without a dedicated behaviour: True, a message for the
        send*-style methods, a MessageId, or an empty list for array results."""
        returns = spec_method.returns if spec_method is not None else ("Boolean",)
        if "Message" in returns and "chat_id" in params and "inline_message_id" not in params:
            caption, entities = self._render(
                str(params.get("caption", "")),
                params.get("parse_mode"),
                params.get("caption_entities"),
            )
            content: dict[str, Any] = {"caption": caption, "caption_entities": entities}
            if name == "sendPhoto":
                content["photo"] = [self._file_stub(width=1, height=1)]
            elif name == "sendDocument":
                content["document"] = self._file_stub()
            return self._new_message(params, **content)
        if "Array of Message" in returns and "chat_id" in params:
            media = params.get("media") if isinstance(params.get("media"), list) else []
            return [self._new_message(params) for _ in media or [None]]
        if "MessageId" in returns and "chat_id" in params:
            return {"message_id": self._new_message(params)["message_id"]}
        if "Array of MessageId" in returns and "chat_id" in params:
            ids = params.get("message_ids") if isinstance(params.get("message_ids"), list) else []
            return [{"message_id": self._new_message(params)["message_id"]} for _ in ids or []]
        if returns and returns[0].startswith("Array of"):
            return []
        return True

    def _file_stub(self, **extra: Any) -> dict[str, Any]:
        number = next(self._file_ids)
        return {"file_id": f"file-{number}", "file_unique_id": f"unique-{number}", **extra}


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _read_params(
    request: tornado.httputil.HTTPServerRequest,
) -> tuple[dict[str, Any], dict[str, UploadedFile], list[Problem]]:
    """Collect query, form, multipart or JSON parameters. Form values stay strings (decoded
    later per spec type); multipart file parts named like a parameter become UploadedFile,
    other file parts are attachments for ``attach://<name>``."""
    raw: dict[str, Any] = {}
    problems: list[Problem] = []

    def text(key: str, value: bytes) -> str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(key, "value is not valid UTF-8"))
            return value.decode("utf-8", "replace")

    for key, values in request.query_arguments.items():
        raw[key] = text(key, values[-1])
    content_type = request.headers.get("Content-Type", "")
    if content_type.split(";")[0].strip().lower() == "application/json" and request.body:
        try:
            body = json.loads(request.body)
        except ValueError as exc:
            body = None
            problems.append(Problem("", f"request body is not valid JSON: {exc}"))
        if isinstance(body, dict):
            raw.update(body)
        elif body is not None:
            problems.append(Problem("", "JSON request body must be an object"))
    else:
        for key, values in request.body_arguments.items():
            raw[key] = text(key, values[-1])
    files = {
        key: UploadedFile(parts[-1].filename, parts[-1].content_type, parts[-1].body)
        for key, parts in request.files.items()
    }
    return raw, files, problems


class _JsonHandler(tornado.web.RequestHandler):
    def compute_etag(self) -> None:
        return None

    def respond(self, status: int, body: Mapping[str, Any]) -> None:
        if self._finished:
            return
        reason = None
        try:
            HTTPStatus(status)
        except ValueError:
            reason = "Error"
        self.set_status(status, reason)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))


class _BotHandler(_JsonHandler):
    server: FakeBotApi
    poll: _Poll | None

    def initialize(self, server: FakeBotApi) -> None:
        self.server = server
        self.poll = None

    async def get(self, token: str, method: str) -> None:
        await self.server._handle(self, token, method)

    async def post(self, token: str, method: str) -> None:
        await self.server._handle(self, token, method)

    def on_connection_close(self) -> None:
        if self.poll is not None:
            self.poll.disconnected = True
            self.server._update_signal.notify()


class _FileHandler(tornado.web.RequestHandler):
    server: FakeBotApi

    def initialize(self, server: FakeBotApi) -> None:
        self.server = server

    def get(self, token: str, file_path: str) -> None:
        if token != self.server.token:
            self.set_status(401)
            self.finish()
            return
        for info, content in self.server._files.values():
            if info["file_path"] == file_path:
                self.set_header("Content-Type", "application/octet-stream")
                self.finish(content)
                return
        self.set_status(404)
        self.finish()


class _NotFoundHandler(_JsonHandler):
    def get(self) -> None:
        self.respond(404, ApiError(404, "Not Found").body())

    def post(self) -> None:
        self.get()
