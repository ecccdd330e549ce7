"""Korean readings of the long English lines the book's tools print, computed from the lines.

The chapters show kubectl's, Go's and nginx's own words, because the reader will meet exactly
those words; a line of 200 English characters is still hard to take in at a glance. :func:`gloss`
returns the tool's output unchanged and puts, right after each line it can read, a short Korean
reading built from that line's parts (who, which object, which name, what failed) with a regular
expression per format. A line that looks like a known format but does not parse, or any line over
:data:`LONG` characters that no reader claims, raises :class:`ValueError`: the reading can never
silently describe a message the book no longer prints.

Formats read (Kubernetes v1.32, Go 1.23, nginx 1.22):

* kubectl's API errors, ``Error from server (Forbidden): <message>`` (kubectl
  ``pkg/cmd/util/helpers.go``, ``StandardErrorMessage``), with apply's prefix
  ``error when creating "<file>":`` (``AddSourceToErr``) and the prefix of
  ``kubectl create rolebinding``, ``error: failed to create rolebinding:``
  (``pkg/cmd/create/create_rolebinding.go``, ``Run``);
  the message is apimachinery's ``NewForbidden`` (``<resource>.<group> "<name>" is forbidden:
  <reason>``) with the reasons of RBAC (``forbiddenMessage`` in apiserver
  ``endpoints/handlers/responsewriters/errors.go``), of RBAC's escalation check
  (``pkg/registry/rbac/validation``, ``ConfirmNoEscalation``) and of the CSR admission plugins
  (``plugin/pkg/admission/certificates``);
* Go's ``x509: certificate is valid for <names>, not <host>`` (``crypto/x509/verify.go``,
  ``HostnameError.Error``);
* klog's lines (``E1207 02:36:05.827564   10337 memcache.go:265] ...``, ``klog`` header format),
  such as kubectl's discovery failures (client-go ``discovery/cached/memory/memcache.go``); a run
  of the same line (only the time differs) is shown once, with how many more there were;
* nginx's error-log lines (``ngx_log_error_core`` and ``ngx_http_log_error``: time, level,
  pid#tid, ``*connection``, message, ``client:``, ``server:``, ``request:``, ``host:``).

Where a line names a failure the cause table knows (a Go x509 error, an nginx verify error), the
reading ends with that cause's Korean title from :mod:`k8sauthlib.causes`, so the Korean for one
cause is written once.
"""

from __future__ import annotations

import re

from ..tls.diagnose import diagnose_text

#: A line longer than this (characters) that no reader claims is an error: it needs a reading.
LONG = 200

ARROW = "→ "

_Q = r'"(?:[^"\\]|\\.)*"'  # a Go %q string


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _cause_title(text: str, source: str) -> str:
    d = diagnose_text(text, source)
    if d is None:
        raise ValueError(
            f"no cause in the cause table matches this {source} text: {text!r}; add its sign to k8sauthlib.causes"
        )
    return d.cause.title_ko


# ---------------------------------------------------------------------------- kubectl API errors
_FROM_SERVER = re.compile(r"Error from server \((?P<reason>\w+)\): (?P<rest>.*)")
_FAILED_TO = re.compile(r"error: failed to (?P<verb>create) (?P<kind>[\w.-]+): (?P<rest>.*)")
_WHEN = re.compile(r'error when (?P<doing>creating|patching|replacing|deleting) "(?P<source>[^"]+)": (?P<rest>.*)')
_NEW_FORBIDDEN = re.compile(
    rf"(?:(?P<resource>[a-z0-9-]+)(?:\.(?P<group>[a-z0-9.-]+))? (?:(?P<name>{_Q}) )?is )?forbidden: (?P<detail>.*)"
)
_DOING = {"creating": "생성", "create": "생성", "patching": "수정(patch)", "replacing": "교체", "deleting": "삭제"}
_STATUS = {"Forbidden": "403 Forbidden"}

_RBAC = re.compile(
    rf"User (?P<user>{_Q}) cannot (?P<verb>\w+) "
    rf"(?:resource (?P<resource>{_Q}) in API group (?P<group>{_Q}) "
    rf"(?:in the namespace (?P<namespace>{_Q})|(?P<cluster>at the cluster scope))|path (?P<path>{_Q}))"
    r"(?:: (?P<reason>.*))?"
)
_MASTERS = re.compile(r"use of (?P<signer>\S+) signer with system:masters group is not allowed")
_SIGNER = re.compile(rf"user not permitted to (?P<verb>\w+) requests with signerName (?P<signer>{_Q})")
_ESCALATION = re.compile(
    rf"user (?P<user>{_Q}) \(groups=\[(?P<groups>(?:{_Q}(?: {_Q})*)?)\]\) is attempting to grant RBAC permissions "
    r"not currently held:$"
)


def _why_forbidden(detail: str) -> str:
    if m := _RBAC.fullmatch(detail):
        user, verb = _unquote(m["user"]), m["verb"]
        if m["path"]:
            why = f'사용자 "{user}"에게는 경로 {m["path"]}에 대한 {verb} 권한이 없습니다.'
        else:
            group = _unquote(m["group"])
            what = f"{_unquote(m['resource'])}(" + (f"API 그룹 {group})" if group else "코어 API 그룹)")
            where = f"네임스페이스 {m['namespace']}에서" if m["namespace"] else "클러스터 범위에서"
            why = f'사용자 "{user}"에게는 {where} {what}에 대한 {verb} 권한이 없습니다.'
        return why + (f" 인가 모듈이 덧붙인 말: {m['reason']}" if m["reason"] else "")
    if m := _MASTERS.fullmatch(detail):
        return f"{m['signer']} 서명자로는 system:masters 그룹의 인증서를 요청할 수 없습니다."
    if m := _SIGNER.fullmatch(detail):
        return f"이 사용자에게는 서명자 {m['signer']}의 요청에 대한 {m['verb']} 권한이 없습니다."
    if m := _ESCALATION.fullmatch(detail):
        groups = ", ".join(_unquote(g) for g in re.findall(_Q, m["groups"])) or "없음"
        return (
            f'사용자 "{_unquote(m["user"])}"(그룹 {groups})에게 없는 RBAC 권한을 남에게 주려는 요청입니다'
            "(권한 상승 방지). 없는 권한은 다음 줄부터 나옵니다."
        )
    raise ValueError(
        f"no Korean reading for this Forbidden reason: {detail!r}; teach k8sauthlib.book.readings its format"
    )


def _read_api_error(line: str) -> list[str] | None:
    doing = source = None
    if m := _FROM_SERVER.fullmatch(line):
        status = _STATUS.get(m["reason"])
        if status is None:
            raise ValueError(f"no Korean reading for kubectl's {m['reason']!r} errors: {line!r}")
        rest = m["rest"]
        if w := _WHEN.fullmatch(rest):
            doing, source, rest = w["doing"], w["source"], w["rest"]
    elif m := _FAILED_TO.fullmatch(line):
        status, doing, rest = "403 Forbidden", m["verb"], m["rest"]
    else:
        return None
    f = _NEW_FORBIDDEN.fullmatch(rest)
    if f is None:
        raise ValueError(
            f"no Korean reading for this kubectl error: {line!r}; teach k8sauthlib.book.readings its format"
        )
    target = f["resource"] or "요청"
    if f["name"]:
        target += f" {f['name']}"
    action = f"의 {_DOING[doing]} 요청" if doing else "에 대한 요청"
    where = f", {source}" if source else ""
    if not f["resource"]:
        head = f"API 서버가 요청을 거절했습니다({status}{where})."
    else:
        head = f"API 서버가 {target}{action}을 거절했습니다({status}{where})."
    return [head, "이유: " + _why_forbidden(f["detail"])]


# ---------------------------------------------------------------------------- Go's x509 host check
_VALID_FOR = re.compile(r"x509: certificate is valid for (?P<names>.+), not (?P<host>\S+)$")


def _read_valid_for(line: str) -> list[str] | None:
    if "x509: certificate is valid for" not in line:
        return None
    m = _VALID_FOR.search(line)
    if m is None:
        raise ValueError(f"no Korean reading for this x509 host-name error: {line!r}")
    names = m["names"].split(", ")
    return [
        f'서버 인증서를 검증하지 못해 연결하지 않았습니다. 접속한 이름("{m["host"]}")이 인증서의 '
        f"이름(SAN) {len(names)}개 중에 없습니다."
    ]


# ---------------------------------------------------------------------------- klog
_KLOG = re.compile(r"(?P<severity>[IWEF])\d{4} \d\d:\d\d:\d\d\.\d{6}\s+\d+ (?P<file>[\w.-]+:\d+)\] (?P<message>.*)")
_KLOG_ERR = re.compile(rf'"Unhandled Error" err=(?P<err>{_Q})')
_DISCOVERY = re.compile(r"couldn't get current server API group list: Get \"(?P<url>[^\"]+)\": (?P<error>.*)")
_SEVERITY = {"I": "정보", "W": "경고", "E": "오류", "F": "치명적 오류"}


def _klog_key(line: str):
    m = _KLOG.fullmatch(line)
    return (m["severity"], m["file"], m["message"]) if m else None


def _read_klog(line: str) -> list[str] | None:
    m = _KLOG.fullmatch(line)
    if m is None:
        return None
    message = m["message"]
    if e := _KLOG_ERR.fullmatch(message):
        message = _unquote(e["err"])
    d = _DISCOVERY.fullmatch(message)
    if d is None:
        raise ValueError(
            f"no Korean reading for this klog message: {message!r}; teach k8sauthlib.book.readings its format"
        )
    return [
        f"kubectl의 로그({_SEVERITY[m['severity']]}, {m['file']}): API 그룹 목록을 가져오지 못했습니다"
        f"(GET {d['url']}). 원인: {_cause_title(d['error'], 'go')}"
    ]


# ---------------------------------------------------------------------------- nginx's error log
_NGINX = re.compile(
    r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?P<level>\w+)\] \d+#\d+: (?:\*(?P<conn>\d+) )?(?P<message>.*?)"
    r"(?: while (?P<action>[^,]+))?, client: (?P<client>[^,]+), server: (?P<server>[^,]*)"
    r'(?:, request: "(?P<request>[^"]*)")?(?:, host: "(?P<host>[^"]*)")?'
)
_NGINX_MESSAGES = re.compile(
    r"client sent no required SSL certificate|client SSL certificate verify error: \((?P<code>\d+):[^)]*\)"
)


def _read_nginx(line: str) -> list[str] | None:
    if not re.match(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] ", line):
        return None
    m = _NGINX.fullmatch(line)
    if m is None or not _NGINX_MESSAGES.fullmatch(m["message"]):
        raise ValueError(
            f"no Korean reading for this nginx log line: {line!r}; teach k8sauthlib.book.readings its format"
        )
    code = _NGINX_MESSAGES.fullmatch(m["message"])["code"]
    what = f", 클라이언트 인증서 검증 오류 {code}(OpenSSL)" if code else ""
    request = f', 요청 "{m["request"]}"' if m["request"] else ""
    return [
        f"nginx 연결 *{m['conn']}(클라이언트 {m['client']}{request}){what}. "
        f"원인: {_cause_title(m['message'], 'nginx-log')}"
    ]


_READERS = (_read_api_error, _read_valid_for, _read_klog, _read_nginx)


def read(line: str) -> list[str] | None:
    """The Korean reading of one line (a list of sentences), or ``None`` when no reader knows its
    format.

    Raises:
        ValueError: the line looks like a known format (``Error from server (``, a klog or nginx
            header, ``x509: certificate is valid for``) but does not parse.
    """
    for reader in _READERS:
        reading = reader(line)
        if reading is not None:
            return reading
    return None


def gloss(output) -> str:
    """The tool's output with a Korean reading (``→ ...``) after each line :func:`read` knows.

    Args:
        output: the text (``str``) or its lines (a list, e.g. IPython's ``out = !command``).

    Returns:
        The lines, unchanged and in order, each known one followed by its reading; a run of
        equal klog lines (only the time differs) is shown once, followed by one line saying how
        many more there were.

    Raises:
        ValueError: a line looks like a known format but does not parse, or is longer than
            :data:`LONG` characters and no reader knows it.
    """
    lines = list(output) if isinstance(output, (list, tuple)) else str(output).splitlines()
    shown = []
    i = 0
    while i < len(lines):
        line = lines[i]
        reading = read(line)
        if reading is None and len(line) > LONG:
            raise ValueError(f"a {len(line)}-character line has no Korean reading: {line[:80]!r}...")
        shown.append(line)
        shown.extend(ARROW + sentence for sentence in reading or ())
        key, repeats = _klog_key(line), 0
        while key is not None and i + 1 + repeats < len(lines) and _klog_key(lines[i + 1 + repeats]) == key:
            repeats += 1
        if repeats:
            shown.append(f"{ARROW}같은 줄이 {repeats}번 더 나옵니다(시각만 다릅니다).")
        i += 1 + repeats
    return "\n".join(shown)


__all__ = ["ARROW", "LONG", "gloss", "read"]
