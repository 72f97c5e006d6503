"""Resolving references and reading metadata against a real SQLite-backed registry."""

from __future__ import annotations

import pytest
from cachelib import SimpleCache

from services.access.audit import Source
from services.errors import ModelNotFound, RegistryUnavailable, VersionNotFound
from services.registry.demo import CHURN_MODEL, IRIS_MODEL
from services.wiring import build_services
from tests.conftest import SETOSA, api_predict, free_port, settings_for
from tests.registry_models import EMPTY_MODEL, STAGED_MODEL, TENSOR_MODEL


@pytest.mark.parametrize(
    ("ref", "version", "alias"),
    [
        ("1", "1", None),
        ("Champion", "1", "Champion"),
        ("Challenger", "2", "Challenger"),
        ("latest", "2", None),
        ("LATEST", "2", None),
        ("", "2", None),
    ],
)
def test_references_resolve_to_versions(services, caller, ref, version, alias):
    resolved = services.registry.resolve(caller, IRIS_MODEL, ref)
    assert (resolved.version, resolved.alias) == (version, alias)


def test_legacy_stages_resolve_where_the_registry_has_them(services, caller):
    assert services.registry.resolve(caller, STAGED_MODEL, "Production").version == "1"
    assert services.registry.resolve(caller, STAGED_MODEL, "staging").version == "2"


def test_unknown_alias_lists_versions_and_aliases(services, caller):
    with pytest.raises(VersionNotFound) as error:
        services.registry.resolve(caller, IRIS_MODEL, "Champoin")
    message = str(error.value)
    assert "Alias Champoin" in message
    assert "Versions: 1, 2" in message
    assert "Champion → 1" in message and "Challenger → 2" in message
    assert error.value.http_status == 404


def test_unknown_version_number_says_which_exist(services, caller):
    with pytest.raises(VersionNotFound, match=r"Version 9 of .* Versions: 1, 2"):
        services.registry.resolve(caller, IRIS_MODEL, "9")


def test_latest_of_a_model_without_versions(services, caller):
    with pytest.raises(VersionNotFound, match="has no versions yet"):
        services.registry.resolve(caller, EMPTY_MODEL, "latest")


def test_misspelled_model_gets_near_names(services, caller):
    with pytest.raises(ModelNotFound) as error:
        services.registry.resolve(caller, "main.ml_models.iris_clasifier", "1")
    assert error.value.http_status == 404
    assert f"Did you mean {IRIS_MODEL}?" in str(error.value)
    assert error.value.suggestions == [IRIS_MODEL]  # not every model of the same schema


def test_a_misspelt_short_name_gets_the_full_name(services, caller):
    with pytest.raises(ModelNotFound) as error:
        services.registry.model_detail(caller, "iris_clasifier", Source.API)
    assert error.value.suggestions == [IRIS_MODEL]


def test_short_model_name_suggests_the_full_name(services, caller):
    with pytest.raises(ModelNotFound, match=f"Did you mean {IRIS_MODEL}"):
        services.registry.model_detail(caller, "iris_classifier", Source.API)


def test_unrelated_name_explains_the_expected_form(services, caller):
    with pytest.raises(ModelNotFound, match="full three-part name"):
        services.registry.resolve(caller, "zzz.qqq.www", "1")


def test_unreachable_registry_names_the_uri(tmp_path, caller):
    uri = f"http://127.0.0.1:{free_port()}"
    unreachable = settings_for(tmp_path, tracking_uri=uri, registry_uri=uri)
    services = build_services(unreachable, SimpleCache())
    with pytest.raises(RegistryUnavailable) as error:
        api_predict(services, caller, IRIS_MODEL, "1", SETOSA)
    assert uri in str(error.value)
    assert "Traceback" not in str(error.value)
    assert error.value.http_status == 503


def test_moving_an_alias_takes_effect_without_restart(
    fresh_services, caller, mlflow_client, restore_iris_aliases
):
    assert api_predict(fresh_services, caller, IRIS_MODEL, "Champion", SETOSA).version == "1"
    mlflow_client.set_registered_model_alias(IRIS_MODEL, "Champion", "2")
    result = api_predict(fresh_services, caller, IRIS_MODEL, "Champion", SETOSA)
    assert (result.version, result.alias) == ("2", "Champion")
    assert fresh_services.models.stats.loads == 2  # keyed by version: v1 and v2, not by alias


def test_model_detail_lists_versions_aliases_tags_and_description(services, caller):
    detail = services.registry.model_detail(caller, IRIS_MODEL, Source.API)
    assert detail.summary.aliases == {"Champion": "1", "Challenger": "2"}
    assert detail.summary.tags["task"] == "classification"
    assert "Iris species classifier" in detail.summary.description
    assert [v.version for v in detail.versions] == ["2", "1"]
    newest, oldest = detail.versions
    assert oldest.aliases == ["Champion"] and newest.aliases == ["Challenger"]
    assert oldest.tags["algorithm"] == "RandomForestClassifier"
    assert oldest.status == "READY" and oldest.run_id and oldest.created


def test_version_detail_has_signature_and_input_example(services, caller):
    detail = services.registry.version_detail(caller, CHURN_MODEL, "Champion", Source.API)
    columns = {c.name: (c.type, c.required) for c in detail.signature.columns}
    assert columns == {
        "age": ("long", True),
        "income": ("double", True),
        "tenure_months": ("long", True),
        "usage_gb": ("double", True),
        "city": ("string", True),
        "is_member": ("boolean", True),
    }
    assert detail.input_example and set(detail.input_example[0]) == set(columns)
    assert detail.resolved.alias == "Champion"
    assert "sklearn" in detail.files.flavors


def test_tensor_signature_is_described(services, caller):
    signature = services.registry.version_detail(caller, TENSOR_MODEL, "1", Source.API).signature
    assert signature.is_tensor
    assert signature.tensors[0].shape == (-1, 4)
    assert signature.to_dict()["input_kind"] == "tensor"


def test_list_models_includes_every_demo_model(services, caller):
    names = [model.name for model in services.registry.list_models(caller)]
    assert {IRIS_MODEL, CHURN_MODEL, "main.ml_models.house_price_regressor"} <= set(names)
    assert names == sorted(names)
