"""`agenttrail export sigma -o DIR`: every exported rule loads in pySigma and converts with
backends installed from PyPI.

Backends (pinned in the dev extra): ``pysigma-backend-splunk`` 2.1.0 (Splunk SPL) and
``pysigma-backend-elasticsearch`` 2.1.1 (Lucene, EQL, ES|QL). Single-event rules convert with all
four. For correlation rules of type ``temporal_ordered`` only the EQL backend has a conversion
(an EQL ``sequence by <group-by> with maxspan=<timespan>``); the Splunk and ES|QL backends
implement event_count, value_count and temporal but raise NotImplementedError for
temporal_ordered, and Lucene has no correlations. The test pins that finding, so a backend
upgrade that adds support shows up here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sigma.backends.elasticsearch import EqlBackend, ESQLBackend, LuceneBackend
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from typer.testing import CliRunner

from agenttrail.cli import app
from agenttrail.detect import CATALOGUE
from agenttrail.outputs import sigma

BACKENDS = (SplunkBackend, LuceneBackend, EqlBackend, ESQLBackend)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sigma")
    result = CliRunner().invoke(app, ["export", "sigma", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _docs(d: Path) -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(d.glob("*.yml"))}


def test_every_rule_loads_in_pysigma(exported: Path) -> None:
    docs = _docs(exported)
    assert len(docs) == 13
    col = SigmaCollection.load_ruleset([exported], collect_errors=True)
    assert not col.errors
    assert {r.name for r in col.rules} == set(docs)
    for r in col.rules:
        assert not r.errors, r.name
        doc = docs[r.name]
        meta = CATALOGUE[doc["agenttrail_rule"]]
        assert r.custom_attributes["sigma_loss"] == meta.sigma_loss
        assert meta.sigma_loss in " ".join(r.description.split())
        assert "attack.t1563.001" in [str(t) for t in r.tags]
    corr = [r for r in col.rules if isinstance(r, SigmaCorrelationRule)]
    assert len(corr) == 5
    for r in corr:
        assert r.type == SigmaCorrelationType.TEMPORAL_ORDERED
        assert r.group_by == [sigma.HOST_FIELD]
        assert r.timespan.seconds == 60  # time_window
        assert all(ref.rule is not None for ref in r.rules)  # references resolved by name
    assert "ssh_flow_without_login" in (exported / "README.md").read_text()


def test_export_is_deterministic(exported: Path, tmp_path: Path) -> None:
    sigma.write(tmp_path)
    for p in exported.iterdir():
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), p.name


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.__name__)
def test_single_event_rules_convert(exported: Path, backend: type) -> None:
    for name, doc in _docs(exported).items():
        if "correlation" in doc:
            continue
        queries = backend().convert(SigmaCollection.from_yaml((exported / f"{name}.yml")
                                                              .read_text()))
        assert len(queries) == 1 and queries[0], (backend.__name__, name)


def _with_bases(exported: Path, doc: dict) -> SigmaCollection:
    texts = [(exported / f"{n}.yml").read_text() for n in doc["correlation"]["rules"]]
    texts.append((exported / f"{doc['name']}.yml").read_text())
    return SigmaCollection.from_yaml("\n---\n".join(texts))


def test_correlations_convert_to_eql_sequences(exported: Path) -> None:
    for _name, doc in _docs(exported).items():
        if "correlation" not in doc:
            continue
        [query] = EqlBackend().convert(_with_bases(exported, doc))
        assert query.startswith(f"sequence by {sigma.HOST_FIELD} with maxspan=60s")
        assert query.count("[any where") == 2
        for backend in (SplunkBackend, ESQLBackend, LuceneBackend):
            with pytest.raises(NotImplementedError):
                backend().convert(_with_bases(exported, doc))
