"""What the leak report needs to know of a code object: how many slots its frame's locals take
and how deep its value stack is at an instruction (bindings/python/src/reach.rs reads the
slots; this module only does the bytecode arithmetic, with `dis`).

CPython 3.11+ keeps a frame's fast locals, cells, free variables and value stack in one array
(`localsplus`); while the frame is in a C call its stack pointer is not saved anywhere, so the
depth is worked out from the bytecode: the compiler gives every instruction one stack depth
(it checks that every path agrees), and `dis.stack_effect` is its model. Anything not
understood gives None, and the caller then attributes nothing to that goroutine (its
references keep everything reachable: never a false positive).

Rejected: reading the slots up to the code's co_stacksize (slots above the top hold stale
pointers: counting them could make a live goroutine look leaked).
"""

import dis
import sys

# The instructions a frame can be in while a C function it called blocks, with all their
# inputs still on the stack until the call returns (CPython 3.11-3.13's ceval: the callable,
# self or NULL, the arguments, and for CALL_KW the names; FOR_ITER keeps the iterator).
# CALL_FUNCTION_EX is left out: it pops its arguments before the call.
_CALLS = frozenset(("CALL", "PRECALL", "CALL_KW", "FOR_ITER"))
_UNCONDITIONAL = frozenset((
    "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP", "JUMP_NO_INTERRUPT",
    "JUMP_ABSOLUTE"))
_ENDS = frozenset(("RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE"))
_JUMPS = frozenset(getattr(dis, "hasjump", ())) | frozenset(dis.hasjrel) | frozenset(dis.hasjabs)

_MAX_CACHED = 4096
_depths = {}   # code -> {offset: depth} (or None: not understood)
_nlocals = {}  # code -> localsplus slots (or None)


def _localsplus(code):
    """Slots before the stack: locals, cells, free variables (co_nlocalsplus, which Python
    does not show: probed with the name lookup dis itself uses, checked against the names)."""
    look = getattr(code, "_varname_from_oparg", None)
    if look is None:
        return None
    names = list(code.co_varnames)
    names += [c for c in code.co_cellvars if c not in code.co_varnames]
    n = len(names) + len(code.co_freevars)
    try:
        if n:
            look(n - 1)
    except Exception:
        return None
    try:
        look(n)
    except IndexError:
        return n
    except Exception:
        return None
    return None  # a slot past the names: the layout is not what we think


def _walk(code):
    """The stack depth before each instruction, by offset, or None."""
    try:
        insts = list(dis.get_instructions(code))
    except Exception:
        return None
    index = {ins.offset: k for k, ins in enumerate(insts)}
    depth = {}
    work = [(0, 0)]
    try:
        table = dis._parse_exception_table(code)
    except Exception:
        return None
    for e in table:
        work.append((index.get(e.target, -1), e.depth + (1 if e.lasti else 0) + 1))
    while work:
        k, d = work.pop()
        if k < 0 or k >= len(insts) or d < 0 or d > code.co_stacksize:
            return None
        if k in depth:
            if depth[k] != d:
                return None
            continue
        depth[k] = d
        ins = insts[k]
        name = ins.opname
        if name in _ENDS:
            continue
        if ins.opcode in _JUMPS:
            target = getattr(ins, "jump_target", None)
            if target is None:
                target = ins.argval
            if not isinstance(target, int) or target not in index:
                return None
            work.append((index[target], d + dis.stack_effect(ins.opcode, ins.arg, jump=True)))
            if name in _UNCONDITIONAL:
                continue
            work.append((k + 1, d + dis.stack_effect(ins.opcode, ins.arg, jump=False)))
            continue
        arg = ins.arg if ins.opcode >= dis.HAVE_ARGUMENT else None
        work.append((k + 1, d + dis.stack_effect(ins.opcode, arg)))
    out = {insts[k].offset: (insts[k].opname, d, insts[k].arg or 0) for k, d in depth.items()}
    # 3.11 splits a call's stack effect between PRECALL (-args) and CALL (-1), but PRECALL
    # pops nothing: during the CALL the stack is as deep as before the PRECALL.
    for k, ins in enumerate(insts):
        if ins.opname == "CALL" and sys.version_info[:2] == (3, 11):
            prev = insts[k - 1] if k else None
            if prev is None or prev.opname != "PRECALL" or prev.arg != ins.arg or k - 1 not in depth:
                out.pop(ins.offset, None)
            else:
                out[ins.offset] = ("CALL", depth[k - 1], ins.arg or 0)
    return out


def _callable_slot(at):
    """Where a call's callable and its NULL-or-self sit (the lower of the two stack slots,
    from the stack base), or -1: below the arguments, and in 3.13's CALL_KW below the names
    tuple too (3.11/3.12 keep the names out of the stack)."""
    name, depth, oparg = at
    if name in ("CALL", "PRECALL"):
        return depth - oparg - 2
    if name == "CALL_KW":
        return depth - oparg - 3
    return -1


def frame_shape(code, lasti, need_depth):
    """(localsplus slots, stack depth at instruction `lasti` or -1 when not needed,
    co_stacksize, the callable's slot or -1) of a frame of `code` in a call at `lasti`, or
    None when not sure."""
    if not (3, 11) <= sys.version_info[:2] <= (3, 13):
        return None
    n = _nlocals.get(code, False)
    if n is False:
        n = _localsplus(code)
        if len(_nlocals) < _MAX_CACHED:
            _nlocals[code] = n
    if n is None:
        return None
    if not need_depth:
        return n, -1, code.co_stacksize, -1
    m = _depths.get(code, False)
    if m is False:
        m = _walk(code)
        if len(_depths) < _MAX_CACHED:
            _depths[code] = m
    if m is None:
        return None
    at = m.get(lasti)
    if at is None or at[0] not in _CALLS:
        return None
    return n, at[1], code.co_stacksize, _callable_slot(at)
