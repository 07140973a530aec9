"""One sanitizer for every user-given name that reaches generated code.

Model files name their layers, tensors and graphs freely: any unicode, newlines,
quotes, ``*/``, C keywords, 10,000 characters. Two pure functions turn such a name
into something safe to emit:

- :func:`identifier` gives a C/C++/Verilog/VHDL/tcl-safe identifier matching
  ``[A-Za-z_][A-Za-z0-9_]*``: no keyword of those languages, no name the vendor
  headers, the C library or trigc's kernels and templates define, bounded in length,
  unique among the names already ``taken`` and readable (it keeps the alphanumeric
  runs of the user's name: ``"/fc1/Gemm"`` becomes ``fc1_Gemm``);
- :func:`printable` (alias :func:`comment`) gives an escaped, single-line, printable
  ASCII form for comments and strings in C++, tcl, JSON and Markdown.

The user's original name stays in the IR (``Node.source``) for errors and reports;
only these forms are written into generated files.

>>> identifier("/fc1/Gemm")
'fc1_Gemm'
>>> identifier("int")
'n_int'
>>> identifier("x", taken={"x"})
'x_2'
>>> printable('a\\n#include "evil"')
'a%0A%23include %22evil%22'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Sequence

MAX_IDENTIFIER = 64  # characters; longer names keep a prefix plus a hash of the whole
TRUNCATED_CHARS = 40  # of a longer name, followed by "_" and the hash (room for prefixes)
MAX_PRINTABLE = 120  # characters of escaped text before "..."
HASH_CHARS = 8

_C_KEYWORDS = """
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t
char16_t char32_t class co_await co_return co_yield compl concept const const_cast
consteval constexpr constinit continue decltype default delete do double dynamic_cast
else enum explicit export extern false final float for friend goto if import inline int
long module mutable namespace new noexcept not not_eq nullptr operator or or_eq override
private protected public register reinterpret_cast requires restrict return short signed
sizeof static static_assert static_cast struct switch template this thread_local throw
true try typedef typeid typename union unsigned using virtual void volatile wchar_t while
xor xor_eq fortran
"""
_VERILOG_KEYWORDS = """
accept_on alias always always_comb always_ff always_latch assert assign assume automatic
before begin bind bins binsof bit buf bufif0 bufif1 byte case casex casez cell chandle
checker clocking cmos config constraint context cover covergroup coverpoint cross deassign
defparam design disable dist edge endcase endchecker endclass endclocking endconfig
endfunction endgenerate endgroup endinterface endmodule endpackage endprimitive
endprogram endproperty endsequence endspecify endtable endtask event eventually expect
extends first_match force foreach forever fork forkjoin function generate genvar global
highz0 highz1 iff ifnone ignore_bins illegal_bins implements implies incdir include
initial inout input inside instance integer interconnect interface intersect join
join_any join_none large let liblist library local localparam logic longint macromodule
matches medium modport nand negedge nettype nexttime nmos nor noshowcancelled notif0
notif1 null output package packed parameter pmos posedge primitive priority program
property pull0 pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand
randc randcase randsequence rcmos real realtime ref reg reject_on release repeat rnmos
rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with
scalared sequence shortint shortreal showcancelled small soft solve specify specparam
strong strong0 strong1 string super supply0 supply1 sync_accept_on sync_reject_on table
tagged task throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1
triand trior trireg type unique unique0 until until_with untyped use uwire var vectored
wait wait_order wand weak weak0 weak1 wildcard wire with within wor xnor
"""
# VHDL is case-insensitive: these are compared in lower case
_VHDL_KEYWORDS = """
abs access after alias all and architecture array assert attribute begin block body
buffer bus case component configuration constant disconnect downto else elsif end entity
exit file for function generate generic group guarded if impure in inertial inout is
label library linkage literal loop map mod nand new next nor not null of on open or
others out package port postponed procedure process pure range record register reject
rem report return rol ror select severity shared signal sla sll sra srl subtype then to
transport type unaffected units until use variable wait when while with xnor xor
"""
# names the vendor headers, the C/C++ library, tcl, trigc's kernels and its glue
# templates define or use as locals (bridge.cpp.j2, testbench.cpp.j2)
_DEFINED = """
ap_fixed ap_ufixed ap_int ap_uint ac_fixed ac_int ac_float ac_complex hls std trigc main
posix gnu linux unix i386 NULL EOF errno stdin stdout stderr assert offsetof alloca
major minor makedev setjmp longjmp va_arg va_start va_end va_copy isnan isinf isfinite
signbit fpclassify isnormal issubnormal math_errhandling strdupa strndupa assert_perror
sched_priority exit abort system printf malloc free
exec eval source proc rename uplevel upvar open file glob interp subst puts set
in out trace n e i k w s v f ref fin fref fout events exact same raw line row
argc argv in_path ref_path out_path read_row
"""
# typedef names of the C library and the vendor headers, without their "_t"
_T_TYPEDEFS = """
add_const add_cv add_lvalue_reference add_pointer add_rvalue_reference add_volatile
aligned_storage aligned_union allocator_arg blkcnt64 blkcnt blksize caddr char16 char32
char8 clock clockid common_type comparison_fn conditional const_mem_fun1_ref
const_mem_fun1 const_mem_fun_ref const_mem_fun cookie_close_function cookie_io_functions
cookie_read_function cookie_seek_function cookie_write_function cpu_set daddr decay dev
div double enable_if error femode fenv fexcept float fpos64 fpos fsblkcnt64 fsblkcnt
fsfilcnt64 fsfilcnt fsid gid id ino64 ino key ldiv lldiv locale loff make_signed
make_unsigned max_align mbstate mem_fun1_ref mem_fun1 mem_fun_ref mem_fun mode nlink
nothrow nullptr off64 off pid piecewise_construct pthread quad register
remove_all_extents remove_const remove_cv remove_extent remove_pointer remove_reference
remove_volatile result_of sigset size ssize suseconds time timer tuple_element u_quad
uid underlying_type useconds value wchar wctrans wctype wint intmax uintmax intptr
uintptr ptrdiff sig_atomic socklen in_addr in_port sa_family
"""

RESERVED = frozenset((_C_KEYWORDS + _VERILOG_KEYWORDS + _DEFINED).split())
RESERVED_CASELESS = frozenset(_VHDL_KEYWORDS.split())
RESERVED_TYPEDEFS = frozenset(f"{t}_t" for t in _T_TYPEDEFS.split())
# prefixes (compared in lower case) of names the headers and trigc define:
# ap_*/AP_* (ap_fixed.h), ac_*/AC_*, af_* (ap_fixed's refs), hls*/HLS_*, ssdm*,
# trigc*/TRIGC_* (kernels, bridge, pack/unpack helpers), pthread_*
RESERVED_PREFIXES = ("ap_", "ac_", "af_", "hls", "ssdm", "trigc", "pthread_", "xil")
_RESERVED_PATTERNS = re.compile(
    r"_.*"                     # _x, __x: reserved to the implementation
    r"|.*__.*"                 # any double underscore (C++ and VHDL)
    r"|[A-Z][A-Z0-9_]+"        # all-caps: macro names (INT_MAX, EINVAL, ...)
    r"|[A-Z]_.*"               # M_PI, L_tmpnam, P_tmpdir
    r"|u?_?int(_least|_fast)?[0-9]*_t"
    r"|(be|le|h)[0-9]*to(be|le|h)?[0-9]*"  # byte-order macros
    r"|.*_$"                   # trailing underscore (VHDL)
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SAFE_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.,:/+=()-")


def is_identifier(text: str) -> bool:
    """True when ``text`` matches ``[A-Za-z_][A-Za-z0-9_]*``."""
    return isinstance(text, str) and _IDENTIFIER.fullmatch(text) is not None


def is_reserved(ident: str) -> bool:
    """True when ``ident`` must not be emitted as a name: a keyword of C, C++,
    Verilog/SystemVerilog or VHDL, a name the vendor headers, the C library, tcl,
    trigc's kernels or its templates define, or a name reserved by pattern
    (leading underscore, double underscore, all-caps macro style)."""
    lower = ident.lower()
    return (ident in RESERVED or lower in RESERVED_CASELESS or ident in RESERVED_TYPEDEFS
            or lower.startswith(RESERVED_PREFIXES)
            or _RESERVED_PATTERNS.fullmatch(ident) is not None)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]


def _readable(name: str, fallback: str) -> str:
    """The alphanumeric runs of ``name`` joined by single underscores (unbounded)."""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(name)).strip("_") or fallback


def _fit(candidate: str) -> str:
    """``candidate`` itself when it is at most MAX_IDENTIFIER characters long, else its
    first TRUNCATED_CHARS and a hash of the whole (so the result is a fixed point)."""
    if len(candidate) <= MAX_IDENTIFIER:
        return candidate
    return f"{candidate[:TRUNCATED_CHARS].rstrip('_')}_{_digest(candidate)}"


def identifier(name: str, taken: Collection[str] = frozenset(), prefix: str = "n",
               forms: Sequence[Callable[[str], str]] = (), fallback: str | None = None) -> str:
    """A safe, readable identifier for the user's ``name`` (see the module doc).

    ``prefix`` is put in front (``prefix_name``) when the name would start with a
    digit or is reserved. ``forms`` are the names derived from the result that will
    also be emitted (e.g. ``lambda b: b + "_t"``): none of them may be reserved or in
    ``taken`` either. A form may return a key that is not an identifier (e.g.
    ``"#" + b.upper()`` for a case-insensitive namespace); such keys are only checked
    against ``taken``. A clash with ``taken`` appends ``_2``, ``_3``, ... ``fallback``
    replaces a name with no alphanumeric character (default: ``unnamed``).

    The result is bounded: a name longer than :data:`MAX_IDENTIFIER` characters keeps
    its first :data:`TRUNCATED_CHARS` and a hash of the whole, so distinct long names
    stay distinct and the result (with a prefix or a uniqueness suffix) is a fixed
    point: ``identifier(identifier(x)) == identifier(x)``. It does not change
    ``taken``: the caller records what it emits."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", prefix):
        raise ValueError(f"identifier prefix must be letters and digits, not {prefix!r}")
    derived = [lambda b: b, *forms]

    def reserved(candidate: str) -> bool:
        return any(is_identifier(d) and is_reserved(d) for d in (f(candidate) for f in derived))

    def bad(candidate: str) -> bool:
        return reserved(candidate) or any(f(candidate) in taken for f in derived)

    base = _readable(name, fallback or "unnamed")
    if base[0].isdigit() or reserved(base):
        base = f"{prefix}_{base}"
    base = _fit(base)
    if reserved(base):  # a derived form stays reserved (e.g. ends in a typedef)
        base = f"{prefix}_{_digest(str(name))}"
    candidate, count = base, 1
    while bad(candidate):
        count += 1
        candidate = _fit(f"{base}_{count}")
        if reserved(candidate):  # "A" is free but "A_2" looks like a macro
            base = candidate = _fit(f"{prefix}_{base}")
            count = 1
    return candidate


def printable(text: object, max_len: int = MAX_PRINTABLE) -> str:
    """An escaped, single-line, printable ASCII form of ``text``, safe inside ``//``
    and ``/* */`` comments, C strings, tcl braces and quotes, JSON and Markdown.

    Letters, digits, space and ``_.,:/+=()-`` are kept; every other character is
    written as the ``%XX`` escapes of its UTF-8 bytes (``"\\n"`` → ``%0A``, ``*`` →
    ``%2A``, ``%`` → ``%25``), so no newline, quote, backslash, brace, bracket,
    ``$``, backtick, ``*/`` or ``<`` survives. Longer results are cut at ``max_len``
    characters (never inside an escape) and end in ``...``."""
    out, length = [], 0
    for ch in str(text):
        piece = ch if ch in _SAFE_CHARS else "".join(
            f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        if length + len(piece) > max_len:
            out.append("...")
            break
        out.append(piece)
        length += len(piece)
    return "".join(out)


comment = printable


__all__ = ["MAX_IDENTIFIER", "MAX_PRINTABLE", "RESERVED", "comment", "identifier",
           "is_identifier", "is_reserved", "printable"]
