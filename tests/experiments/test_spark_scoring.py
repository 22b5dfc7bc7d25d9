"""Spark batch scoring with mlflow.pyfunc.spark_udf against a real MLflow registry in tmp_path."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

pytest.importorskip(
    "pyspark", reason="PySpark is not installed: pip install 'pathlift[spark]' to run Spark tests"
)

from attribution.engines.spark import local_spark_session
from experiments.errors import ExperimentError, RegistryError
from experiments.spark_scoring import score_parquet_with_spark

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

MODEL_CODE = textwrap.dedent(
    '''
    """Toy two-arm uplift model: uplift_email = 2 x, uplift_sms = 1 - x."""
    import mlflow
    import pandas as pd
    from mlflow.pyfunc import PythonModel


    class ToyUplift(PythonModel):
        def predict(self, context, model_input, params=None):
            x = model_input["x"].astype(float).to_numpy()
            email, sms = 2.0 * x, 1.0 - x
            return pd.DataFrame(
                {
                    "uplift_email": email,
                    "uplift_sms": sms,
                    "best_arm": ["email" if e >= s else "sms" for e, s in zip(email, sms)],
                    "best_uplift": [max(e, s) for e, s in zip(email, sms)],
                }
            )


    mlflow.models.set_model(ToyUplift())
    '''
)


@pytest.fixture(scope="module")
def spark():
    # tiny test data: compiling generated code costs more than it saves
    fast = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
    session = local_spark_session("local[2]", shuffle_partitions=2, config=fast)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def registered_model(tmp_path_factory):
    import mlflow
    from mlflow.models import infer_signature

    root = tmp_path_factory.mktemp("mlflow")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    mlflow.set_registry_uri(f"sqlite:///{root}/mlflow.db")
    code = root / "toy_uplift.py"
    code.write_text(MODEL_CODE)
    example = pd.DataFrame({"x": [0.1, 0.9]})
    output = pd.DataFrame(
        {
            "uplift_email": [0.2, 1.8],
            "uplift_sms": [0.9, 0.1],
            "best_arm": ["sms", "email"],
            "best_uplift": [0.9, 1.8],
        }
    )
    experiment = mlflow.create_experiment("scoring", artifact_location=str(root / "artifacts"))
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code),
            signature=infer_signature(example, output),
            registered_model_name="toy-uplift",
        )
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("toy-uplift", "champion", info.registered_model_version)
    yield "models:/toy-uplift@champion"
    mlflow.set_tracking_uri(previous)


def test_scores_parquet_and_writes_predictions_next_to_inputs(spark, registered_model, tmp_path):
    x = np.round(np.linspace(0.0, 1.0, 41), 6)
    data = pd.DataFrame({"user_id": np.arange(41), "x": x, "segment": ["a", "b"] * 20 + ["a"]})
    src = tmp_path / "in"
    src.mkdir()
    data.iloc[:20].to_parquet(src / "part-0.parquet")
    data.iloc[20:].to_parquet(src / "part-1.parquet")
    out = tmp_path / "scored"
    summary = score_parquet_with_spark(src, registered_model, out, spark=spark)

    assert summary.n_rows == 41
    assert summary.prediction_columns == ("uplift_email", "uplift_sms", "best_arm", "best_uplift")
    assert not any(p.name.startswith(".scored.tmp") for p in tmp_path.iterdir())
    got = pd.read_parquet(out).sort_values("user_id").reset_index(drop=True)
    assert list(got.columns) == ["user_id", "x", "segment", *summary.prediction_columns]
    np.testing.assert_allclose(got["uplift_email"], 2 * x)
    np.testing.assert_allclose(got["uplift_sms"], 1 - x)
    # 2x >= 1 - x  <=>  x >= 1/3
    assert (got["best_arm"] == np.where(x >= 1 / 3, "email", "sms")).all()
    np.testing.assert_allclose(got["best_uplift"], np.maximum(2 * x, 1 - x))
    assert summary.means["best_uplift"] == pytest.approx(np.maximum(2 * x, 1 - x).mean())
    assert "best_arm" not in summary.means

    # an existing output is refused unless overwrite, which replaces it whole
    with pytest.raises(ExperimentError, match="already exists"):
        score_parquet_with_spark(src, registered_model, out, spark=spark)
    score_parquet_with_spark(
        src / "part-1.parquet", registered_model, out, spark=spark, overwrite=True
    )
    assert len(pd.read_parquet(out)) == 21


def test_bad_inputs_are_domain_errors(spark, registered_model, tmp_path):
    with pytest.raises(ExperimentError, match="does not exist"):
        score_parquet_with_spark(tmp_path / "nope", registered_model, tmp_path / "o", spark=spark)
    pd.DataFrame({"y": [1.0]}).to_parquet(tmp_path / "wrong.parquet")
    with pytest.raises(ExperimentError, match=r"feature column\(s\) \['x'\]"):
        score_parquet_with_spark(
            tmp_path / "wrong.parquet", registered_model, tmp_path / "o", spark=spark
        )
    with pytest.raises(RegistryError, match="cannot load model"):
        score_parquet_with_spark(
            tmp_path / "wrong.parquet",
            "models:/no-such-model@champion",
            tmp_path / "o",
            spark=spark,
        )
    assert not (tmp_path / "o").exists()
