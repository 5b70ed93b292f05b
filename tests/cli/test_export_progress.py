"""`classmill export --int8` draws calibration and accuracy-check progress bars."""


def test_int8_export_shows_calibration_and_check_progress(int8_export):
    result, _ = int8_export
    assert result.exit_code == 0, result.output
    assert "INT8 calibration" in result.output and "INT8 accuracy check" in result.output
