"""The texts :class:`~k8sauthlib.Nginx` writes: the article's ``default.conf`` server block (on
port :data:`DEFAULT_PORT` unless told otherwise), the page it serves (:data:`DEFAULT_INDEX_HTML`)
and the smallest ``nginx.conf`` around it that keeps every file under nginx's prefix
(``nginx -p``). Directives as documented for nginx 1.22 (``ngx_http_ssl_module``:
``ssl_certificate``, ``ssl_client_certificate``, ``ssl_verify_client``, ``ssl_verify_depth``);
:func:`verify_client_mode` turns the ``verify_client`` argument into ``ssl_verify_client``'s value.
"""

from __future__ import annotations

from ..errors import InputError

#: The article's HTTPS port.
DEFAULT_PORT = 8443

#: ``html/index.html``: a Korean page, served as UTF-8.
DEFAULT_INDEX_HTML = """<!DOCTYPE html>
<html lang="ko">
<head><meta charset="utf-8"><title>상호 TLS 실습</title></head>
<body>
<h1>안녕하세요, mTLS!</h1>
<p>이 페이지가 보인다면 nginx가 TLS 핸드셰이크를 마치고 응답한 것입니다.</p>
</body>
</html>
"""

#: ``conf/nginx.conf``: foreground, one worker, logs and temp paths relative to the prefix, and
#: an access log that shows the connection, its request count and ``$ssl_client_verify``.
MAIN_CONF = (
    "# written by k8sauthlib.Nginx: everything stays under the prefix (nginx -p)\n"
    "daemon off;\n"
    "worker_processes 1;\n"
    "pid logs/nginx.pid;\n"
    "error_log logs/error.log info;\n"
    "\n"
    "events { worker_connections 64; }\n"
    "\n"
    "http {\n"
    "    log_format mtls '$remote_addr [$time_local] \"$request\" $status '\n"
    "                    'host=$host sni=$ssl_server_name '\n"
    "                    'conn=$connection reqs=$connection_requests '\n"
    "                    'verify=$ssl_client_verify subject=\"$ssl_client_s_dn\"';\n"
    "    access_log logs/access.log mtls;\n"
    "    client_body_temp_path tmp/body;\n"
    "    proxy_temp_path       tmp/proxy;\n"
    "    fastcgi_temp_path     tmp/fastcgi;\n"
    "    uwsgi_temp_path       tmp/uwsgi;\n"
    "    scgi_temp_path        tmp/scgi;\n"
    "    types { text/html html; text/plain txt; }\n"
    "    default_type application/octet-stream;\n"
    "    charset utf-8;    # without it, HTTP clients decode the Korean page as ISO-8859-1\n"
    "\n"
    "    include default.conf;\n"
    "}\n"
)


def server_block(host, port, server_name, verify_client="off", verify_depth=None) -> str:
    """``conf/default.conf``: one TLS server on ``host:port``; with ``verify_client`` other than
    ``"off"``, mutual TLS against ``client-ca.pem``."""
    lines = [
        "server {",
        f"    listen {host}:{port} ssl;",
        f"    server_name {server_name};",
        "",
        "    ssl_certificate     server.pem;       # relative to conf/",
        "    ssl_certificate_key server-key.pem;",
    ]
    if verify_client != "off":
        lines += [
            "",
            "    # mutual TLS: client certificates must be signed by this CA",
            "    ssl_client_certificate client-ca.pem;",
            f"    ssl_verify_client      {verify_client};",
        ]
        if verify_depth is not None:
            lines.append(f"    ssl_verify_depth       {int(verify_depth)};")
    lines += [
        "",
        "    location / {",
        "        root  html;                    # relative to the prefix",
        "        index index.html;",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def verify_client_mode(value):
    """The ``ssl_verify_client`` value for :class:`~k8sauthlib.Nginx`'s ``verify_client`` argument.

    ``False``/``None``/``"off"`` give ``"off"``, ``True``/``"on"`` give ``"on"``; ``"optional"``
    and ``"optional_no_ca"`` stay as they are.

    Raises:
        InputError: any other value.
    """
    if value in (False, None, "off"):
        return "off"
    if value in (True, "on"):
        return "on"
    if value in ("optional", "optional_no_ca"):
        return value
    raise InputError(f"verify_client must be False/'off', True/'on', 'optional' or 'optional_no_ca', not {value!r}")


__all__ = ["DEFAULT_INDEX_HTML", "DEFAULT_PORT", "MAIN_CONF", "server_block", "verify_client_mode"]
