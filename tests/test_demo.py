"""``python -m sknoisy.demo`` in quick mode, and the documented full configuration."""

import pytest

from sknoisy.demo import demo_config, main


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_demo_quick_mode_from_env_prints_table_and_plots(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKNOISY_DEMO_QUICK", "1")
    out = tmp_path / "demo"
    assert main(["--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    for method in ("ce_clean", "ce", "bmm"):
        assert f"| {method} |" in stdout
    assert "Plain cross-entropy:" in stdout and str(out.resolve()) in stdout
    assert (out / "results.md").exists()
    assert (out / "accuracy_digits_symmetric.png").exists()
    assert (out / "pr_digits_symmetric_0.4.png").exists()
    # Running again replaces the demo's own files; foreign files stop it before training.
    assert main(["--out", str(out)]) == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "results.md").write_text("mine")
    assert main(["--out", str(tmp_path / "other")]) == 2
    assert (tmp_path / "other" / "results.md").read_text() == "mine"
    assert "--force" in capsys.readouterr().err


def test_demo_full_config_is_the_documented_benchmark():
    cfg = demo_config()
    assert cfg["datasets"] == ["digits"] and cfg["noise_types"] == ["symmetric"]
    assert cfg["noise_rates"] == [0.4] and cfg["seeds"] == 3 and cfg["epochs"] >= 100
    assert cfg["methods"] is None  # every available method, CE on clean labels included
    assert demo_config("fashion_mnist")["n_train"] == 10000
    assert demo_config(quick=True)["epochs"] <= 2
    with pytest.raises(ValueError, match="dataset must be one of"):
        demo_config("mnist")
