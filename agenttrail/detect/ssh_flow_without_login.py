"""An authenticated SSH session start between internal hosts with no sshd record for it.

Example: a Zeek flow 10.10.0.7:50211 → 10.20.0.6:22 (history ShADad, auth_success T) while
app1's auth.log, which covers the minutes around it, has no record for port 50211.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from agenttrail.detect._meta import SEVERITY, Detection, Param, as_signals

if TYPE_CHECKING:
    from ibis.expr.types import Table

    from agenttrail.config import Settings
    from agenttrail.detect._meta import Tables

SKEW_MIN_MATCHES = 5  # exact port matches before a destination's clock skew is estimated
SKEW_MARGIN_US = 10_000_000  # tol = |skew| + 10 s once estimated
FIRST_PASS_EXTRA_US = 600_000_000  # the skew-estimation pass looks this much wider

META = Detection(
    id="ssh_flow_without_login",
    title="SSH session with no login record on the destination",
    severity="medium",
    summary="An authenticated SSH session start (Zeek auth_success, or more than auth_min_pkts "
    "packets and auth_min_bytes bytes) from an internal source to an internal destination, with "
    "no sshd record for its (source ip, source port) on the destination within [start - tol, "
    "start + login_grace + tol]. Accepted = login present; Failed/[preauth]/closed = attempt, "
    "no session; nothing = missing. Only flows whose destination's login coverage spans that "
    "window are evaluable; a window that ends after the end of the data while the source is "
    "still live is Incomplete; a window the source stopped covering while the other inputs "
    "went on is not evaluable. High inside a chain.",
    requires=("flow: SSH session starts with source port", "login: sshd records per host"),
    params=(
        Param("clock_tolerance", 120, "initial tolerance (s), refined per destination by skew",
              "[windows] clock_tolerance"),
        Param("login_grace", 120, "how long after the flow start a record may appear (s)",
              "[windows] login_grace"),
        Param("auth_min_pkts", 46, "packets above which a flow without hint is authenticated",
              "[network] auth_min_pkts"),
        Param("auth_min_bytes", 4000, "bytes above which a flow without hint is authenticated",
              "[network] auth_min_bytes"),
    ),
    false_positives=(
        "ControlMaster multiplexing (one flow, one login)",
        "logs not shipped for a host: the flow is not evaluable, never alerted",
        "NAT and jump hosts: declare them in [network]",
    ),
    sigma="temporal correlation of a flow event and the absence of an sshd event",
    sigma_loss="Sigma correlation rules cannot express absence with per-destination coverage",
)


def evaluate(t: Tables) -> Table:
    """Per SSH session-start flow: login status, the best matching record and the tolerance."""
    s = t.settings
    w = s.windows
    grace = w.login_grace * 1_000_000
    ct = w.clock_tolerance * 1_000_000
    f = t.flow.filter(t.flow.is_ssh & t.flow.saw_syn.fill_null(True) & t.flow.start_us.notnull())
    lg = t.login.filter(t.login.host.notnull())
    match_keys = [
        f.dst_host == lg.host,
        f.src_ip_hi == lg.src_ip_hi,
        f.src_ip_lo == lg.src_ip_lo,
        f.src_port == lg.src_port,
    ]
    wide = f.join(
        lg,
        [*match_keys,
         lg.t_us >= f.start_us - ct - FIRST_PASS_EXTRA_US,
         lg.t_us <= f.start_us + grace + ct + FIRST_PASS_EXTRA_US],
    ).filter(f.ssh_evidence.fill_null("") != "login").select(  # a flow from a login has dt 0
        dst_host=f.dst_host, dt=lg.t_us - f.start_us
    )
    skew = wide.group_by("dst_host").aggregate(n=wide.dt.count(), med=wide.dt.median())
    tol_tab = skew.select(
        k_host=skew.dst_host,
        skew_us=ibis.cases((skew.n >= SKEW_MIN_MATCHES, skew.med.cast("int64"))),
        tol=ibis.cases(
            (skew.n >= SKEW_MIN_MATCHES, skew.med.cast("int64").abs() + SKEW_MARGIN_US),
            else_=ibis.literal(ct, "int64"),
        ),
    )
    ft = f.left_join(tol_tab, f.dst_host == tol_tab.k_host).select(
        f, tol_us=tol_tab.tol.coalesce(ibis.literal(ct, "int64")), skew_us=tol_tab.skew_us
    )
    ft = _with_port_ok(ft, s)
    m = ft.join(
        lg,
        [ft.dst_host == lg.host, ft.src_ip_hi == lg.src_ip_hi, ft.src_ip_lo == lg.src_ip_lo,
         ft.src_port == lg.src_port,
         lg.t_us >= ft.start_us - ft.tol_us, lg.t_us <= ft.start_us + grace + ft.tol_us],
    ).select(
        f_row=ft.row_id,
        l_row=lg.row_id,
        accepted=lg.result == "accepted",
        adt=(lg.t_us - ft.start_us).abs(),
    )
    ranked = m.mutate(
        rn=ibis.row_number().over(
            group_by=m.f_row, order_by=[ibis.desc(m.accepted), m.adt, m.l_row]
        )
    )
    best = ranked.filter(ranked.rn == 0).select(
        b_row="f_row", login_row="l_row", b_accepted="accepted"
    )
    portless = lg.filter(lg.src_port.isnull() & (lg.result == "accepted"))
    pl = ft.join(
        portless,
        [ft.dst_host == portless.host, ft.src_ip_hi == portless.src_ip_hi,
         ft.src_ip_lo == portless.src_ip_lo,
         portless.t_us >= ft.start_us - ft.tol_us,
         portless.t_us <= ft.start_us + grace + ft.tol_us],
    ).group_by(p_row=ft.row_id).aggregate(portless_row=portless.row_id.min())
    cov = _coverage(t, ft)
    j = ft.left_join(best, ft.row_id == best.b_row).select(ft, best.login_row, best.b_accepted)
    j = j.left_join(pl, j.row_id == pl.p_row).select(j, pl.portless_row)
    j = j.left_join(cov, j.row_id == cov.c_row).select(
        j, cov.covered, cov.live, cov.started, cov.has_source
    )
    # The window is still open when it ends after the last record of any input: only then is
    # an uncovered window Incomplete (more logs may settle it). A source that fell silent while
    # the other inputs went on cannot judge the flow: not evaluable.
    still_open = (j.start_us + grace + j.tol_us) > data_end(t)
    status = ibis.cases(
        (j.b_accepted.fill_null(False), "present"),
        (j.login_row.notnull(), "attempt"),
        (j.portless_row.notnull(), "present_portless"),
        (j.dst_host.isnull(), "not_evaluable"),
        (~j.port_ok, "not_evaluable"),
        (j.covered.fill_null(False), "missing"),
        (j.live.fill_null(False) & still_open, "incomplete"),
        else_="not_evaluable",
    )
    reason = ibis.cases(
        (j.b_accepted.fill_null(False) | j.login_row.notnull() | j.portless_row.notnull(),
         ibis.null("string")),
        (j.dst_host.isnull(), "destination_unknown"),
        (~j.port_ok, "port_not_covered"),
        (j.covered.fill_null(False), ibis.null("string")),
        (j.started.fill_null(False), "coverage_ends_before_window"),
        (j.has_source.isnull(), "no_login_source"),
        else_="coverage_starts_after_window",
    )
    authenticated = j.ssh_auth_hint.fill_null(
        ((j.pkts_out.fill_null(0) + j.pkts_in.fill_null(0)) > s.auth_min_pkts)
        & ((j.bytes_out.fill_null(0) + j.bytes_in.fill_null(0)) > s.auth_min_bytes)
    )
    return j.select(
        flow_row=j.row_id,
        login_row=j.login_row.coalesce(j.portless_row),
        status=status,
        reason=reason,
        tol_us=j.tol_us,
        skew_us=j.skew_us,
        authenticated=authenticated,
        internal=j.src_internal.fill_null(False) & j.dst_internal.fill_null(False),
    )


def _with_port_ok(ft: Table, s: Settings) -> Table:
    """Whether the flow's port is one the destination's sshd listens on (config, else 22)."""
    configured = sorted((h, p) for h, hc in s.hosts.items() for p in hc.ssh_ports)
    default_ok = ft.dst_port.isin(list(s.ssh_ports))
    if not configured:
        return ft.mutate(port_ok=default_ok.fill_null(False))
    hp = ibis.memtable(
        {"hp_host": [h for h, _ in configured], "hp_port": [p for _, p in configured]}
    )
    hosts = sorted({h for h, _ in configured})
    j = ft.left_join(hp, [ft.dst_host == hp.hp_host, ft.dst_port == hp.hp_port])
    ok = ibis.cases((j.dst_host.isin(hosts), j.hp_host.notnull()), else_=default_ok)
    return j.mutate(port_ok=ok.fill_null(False)).drop("hp_host", "hp_port")


def _coverage(t: Tables, ft: Table) -> Table:
    """Whether the destination's login sources cover each flow's window (DESIGN §5)."""
    s = t.settings
    grace = s.windows.login_grace * 1_000_000
    sp = t.span.group_by(["host", "source"]).aggregate(
        first=t.span.first_t_us.min(),
        last=t.span.last_t_us.max(),
        sshd=t.span.sshd_records.sum(),
    ).filter(lambda x: x.sshd > 0)
    if s.collected_at_us is not None:
        sp = sp.mutate(last=ibis.greatest(sp.last, ibis.literal(s.collected_at_us, "int64")))
    lo = ft.start_us - ft.tol_us
    hi = ft.start_us + grace + ft.tol_us
    j = ft.join(sp, ft.dst_host == sp.host).select(
        c_row=ft.row_id, ok=(sp.first <= lo) & (sp.last >= hi), begun=sp.first <= lo,
        live=(sp.first <= lo) & (sp.last >= lo),
    )
    return j.group_by("c_row").aggregate(
        covered=j.ok.any(), live=j.live.any(), started=j.begun.any(),
        has_source=j.c_row.count() > 0,
    )


def data_end(t: Tables) -> ibis.Value:
    """The end of the run's data (µs): the last flow, login-source, process or socket time, or
    ``--collected-at`` when later. Batch evaluation has every stream's watermark here."""
    s = t.settings
    floor = ibis.literal(-(2**62), "int64")
    ends = [t.flow.start_us.max(), t.flow.end_us.max(), t.span.last_t_us.max(),
            t.process.t_us.max(), t.sock_ev.t_us.max()]
    if s.collected_at_us is not None:
        ends.append(ibis.literal(s.collected_at_us, "int64"))
    return ibis.greatest(*[e.coalesce(floor) for e in ends])


def signals(t: Tables, ev: Table) -> Table:
    """Missing (final) and incomplete logins of authenticated internal session starts."""
    f = t.flow
    e = ev.filter(
        ev.authenticated & ev.internal & ev.status.isin(["missing", "incomplete"])
    )
    j = e.join(f, e.flow_row == f.row_id)
    return as_signals(
        j,
        META.id,
        severity_id=ibis.literal(SEVERITY["medium"]),
        status=ibis.cases((e.status == "missing", "final"), else_="incomplete"),
        reason=e.status,
        host=f.src_host,
        t_us=f.start_us,
        flow_row=f.row_id,
        src_ip=f.src_ip,
        src_port=f.src_port,
        dst_ip=f.dst_ip,
        dst_port=f.dst_port,
        dst_host=f.dst_host,
        flow_start_us=f.start_us,
    )
