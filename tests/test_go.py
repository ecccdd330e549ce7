"""Go's rules, once (k8sauthlib.go): durations, strconv.Quote, encoding/json; checked against cfssl.

Each disagreement the two old copies had is settled by what Go does:
- ``9999999999h`` overflows Go's int64 nanoseconds, so ``time.ParseDuration`` refuses it
  (and cfssl, which parses ``expiry`` with it, refuses the file);
- ``Duration.String`` keeps fractions: one year and 1.5 s is ``8760h0m1.5s``.
"""

import json
import shutil
import subprocess
from datetime import timedelta

import pytest
from cryptography import x509

import k8sauthlib as k8s
from k8sauthlib.go.duration import format_duration, parse_duration
from k8sauthlib.go.text import go_json_marshal, go_quote

requires_cfssl = pytest.mark.skipif(shutil.which("cfssl") is None, reason="cfssl is not installed")


# ------------------------------------------------------------------------------ ParseDuration
@pytest.mark.parametrize(
    "text, expected",
    [
        ("8760h", timedelta(days=365)),
        ("43800h", timedelta(days=1825)),
        ("8760h0m0s", timedelta(days=365)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("90s", timedelta(seconds=90)),
        ("300ms", timedelta(milliseconds=300)),
        ("2h45m30.5s", timedelta(hours=2, minutes=45, seconds=30.5)),
        ("0", timedelta(0)),
        ("-5m", timedelta(minutes=-5)),
        ("+5m", timedelta(minutes=5)),
        ("1500us", timedelta(microseconds=1500)),
        ("1500µs", timedelta(microseconds=1500)),
        (".5h", timedelta(minutes=30)),
        ("1.h", timedelta(hours=1)),
        # the largest Go duration: 2562047h47m16.854775807s
        ("2562047h", timedelta(hours=2562047)),
        ("9223372036854775807ns", timedelta(microseconds=9223372036854776)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text, go_error",
    [
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("1y", 'time: unknown unit "y" in duration "1y"'),
        ("24", 'time: missing unit in duration "24"'),
        ("", 'time: invalid duration ""'),
        ("h", 'time: invalid duration "h"'),
        (".s", 'time: invalid duration ".s"'),
        ("1 h", 'time: unknown unit " h" in duration "1 h"'),
        ("9999999999h", 'time: invalid duration "9999999999h"'),  # int64 nanoseconds overflow
        ("2562048h", 'time: invalid duration "2562048h"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("1µd", 'time: unknown unit "\\xc2\\xb5d" in duration "1\\xc2\\xb5d"'),  # time.quote, not strconv
    ],
)
def test_bad_durations_quote_go_and_say_what_to_write(text, go_error):
    with pytest.raises(k8s.InputError) as info:
        parse_duration(text, "signing.default.expiry")
    message = str(info.value)
    assert go_error in message
    assert message.startswith(f"signing.default.expiry {text!r} is not a Go duration")
    assert "8760h" in message and "\n" not in message


def test_a_timedelta_passes_through_and_other_types_are_refused():
    assert parse_duration(timedelta(hours=1)) == timedelta(hours=1)
    with pytest.raises(k8s.InputError, match="must be a string"):
        parse_duration(8760)


# ------------------------------------------------------------------------------ Duration.String
@pytest.mark.parametrize(
    "delta, text",
    [
        # from Go's src/time/time_test.go durationTests (at microsecond resolution)
        (timedelta(0), "0s"),
        (timedelta(microseconds=1), "1µs"),
        (timedelta(microseconds=2200), "2.2ms"),
        (timedelta(milliseconds=3300), "3.3s"),
        (timedelta(minutes=4, seconds=5), "4m5s"),
        (timedelta(minutes=4, milliseconds=5001), "4m5.001s"),
        (timedelta(hours=5, minutes=6, milliseconds=7001), "5h6m7.001s"),
        (timedelta(minutes=8, microseconds=1), "8m0.000001s"),
        # ours
        (timedelta(days=365), "8760h0m0s"),
        (timedelta(hours=8760, seconds=1.5), "8760h0m1.5s"),
        (timedelta(minutes=90), "1h30m0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(milliseconds=300), "300ms"),
        (timedelta(microseconds=7), "7µs"),
        (-timedelta(hours=2), "-2h0m0s"),
    ],
)
def test_format_duration_like_go(delta, text):
    assert format_duration(delta) == text


@pytest.mark.parametrize("text", ["8760h0m0s", "1h30m0s", "2.2ms", "8760h0m1.5s", "-2h0m0s", "7µs"])
def test_format_and_parse_round_trip(text):
    assert format_duration(parse_duration(text)) == text


@requires_cfssl
@pytest.mark.parametrize("expiry", ["1.5h", "+1h", ".5h", "2562047h", "9999999999h", "1d", "24", "1 h"])
def test_cfssl_accepts_exactly_the_durations_we_accept(tmp_path, expiry):
    """cfssl reads ``ca.expiry`` with time.ParseDuration: it and we accept and refuse the same texts."""
    csr = tmp_path / "ca-csr.json"
    csr.write_text(json.dumps({"CN": "dur", "key": {"algo": "ecdsa", "size": 256}, "ca": {"expiry": expiry}}))
    proc = subprocess.run(["cfssl", "gencert", "-initca", str(csr)], capture_output=True, text=True, timeout=60)
    try:
        parse_duration(expiry)
        ours = True
    except k8s.InputError:
        ours = False
    assert (proc.returncode == 0) == ours, proc.stderr
    if ours:
        cert = x509.load_pem_x509_certificate(json.loads(proc.stdout)["cert"].encode())
        lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
        assert abs(lifetime - parse_duration(expiry)) <= timedelta(seconds=1)  # X.509 keeps whole seconds


# ------------------------------------------------------------------------------ strconv.Quote
@pytest.mark.parametrize(
    "text, quoted",
    [
        # from Go's src/strconv/quote_test.go quotetests
        ("\a\b\f\r\n\t\v", '"\\a\\b\\f\\r\\n\\t\\v"'),
        ("\\", '"\\\\"'),
        ("abc\xffdef", '"abc\\u00ffdef"'.replace("\\u00ff", "ÿ")),  # U+00FF is printable
        ("\u263a", '"☺"'),
        ("\U0010ffff", '"\\U0010ffff"'),
        ("\x04", '"\\x04"'),
        ("!\u00a0!\u2000!\u3000!", '"!\\u00a0!\\u2000!\\u3000!"'),
        ("\x7f", '"\\x7f"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("system:masters", '"system:masters"'),
    ],
)
def test_go_quote(text, quoted):
    assert go_quote(text) == quoted


# ------------------------------------------------------------------------------ encoding/json
def test_go_json_marshal_sorts_keys_and_escapes_like_go():
    text = go_json_marshal({"key": "a<b>&\n\x08\u2028é\\", "cert": "-----BEGIN", "n": [1, None, True]})
    assert text == '{"cert":"-----BEGIN","key":"a\\u003cb\\u003e\\u0026\\n\\u0008\\u2028é\\\\","n":[1,null,true]}'
    assert json.loads(text)["key"] == "a<b>&\n\x08\u2028é\\"
    with pytest.raises(TypeError):
        go_json_marshal({"x": 1.5})


@requires_cfssl
def test_cfssl_prints_gencert_output_as_go_json_marshal(tmp_path):
    csr = tmp_path / "ca-csr.json"
    csr.write_text(json.dumps({"CN": "x", "key": {"algo": "ecdsa", "size": 256}}))
    out = subprocess.run(
        ["cfssl", "gencert", "-initca", str(csr)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == go_json_marshal(json.loads(out))
