"""Media storage settings (issue 21 part 3): MEDIA_STORAGE, the S3_* settings, the per-service bucket,
and the one-line refusal at start of a setting that would put files nowhere or in the wrong place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from shared.cli import main
from shared.config import ConfigError, Settings, validate_for_start
from shared.storage import FileStore, LocalBlobs, S3Blobs

DEV = {"YUNKEFU_ENV": "development"}


def test_the_default_is_the_local_folder_and_s3_settings_have_their_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env("onboarding", {"MEDIA_ROOT": str(tmp_path)})
    assert (settings.media_storage, settings.s3_bucket, settings.s3_prefix) == ("local", "", "")
    assert (settings.s3_region, settings.s3_addressing_style, settings.s3_endpoint_url) == (
        "us-east-1",
        "path",
        "",
    )
    store = FileStore.from_settings(settings)
    assert isinstance(store.place, LocalBlobs) and store.root == tmp_path / "onboarding"


def test_a_service_bucket_of_its_own_wins_over_the_common_one() -> None:
    env = {"MEDIA_STORAGE": "S3", "S3_BUCKET": "common", "TRAINING_S3_BUCKET": "training-files"}
    assert Settings.from_env("training", env).s3_bucket == "training-files"
    onboarding = Settings.from_env("onboarding", {**env, "S3_PREFIX": "yk/", "S3_REGION": "cn-north-1"})
    assert (onboarding.media_storage, onboarding.s3_bucket) == ("s3", "common")
    place = FileStore.from_settings(onboarding).place
    assert isinstance(place, S3Blobs)
    assert (place.bucket, place.prefix) == ("common", "yk/onboarding/")
    assert place.key_for("ab" * 32) == f"yk/onboarding/ab/ab/{'ab' * 32}"
    assert place.client.meta.region_name == "cn-north-1"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"MEDIA_STORAGE": "nfs"}, "MEDIA_STORAGE must be one of local, s3, not 'nfs'"),
        ({"MEDIA_STORAGE": "s3"}, "MEDIA_STORAGE=s3 needs S3_BUCKET (or ONBOARDING_S3_BUCKET)"),
        ({"MEDIA_STORAGE": "s3", "TRAINING_S3_BUCKET": "t"}, "needs S3_BUCKET (or ONBOARDING_S3_BUCKET)"),
        (
            {"MEDIA_STORAGE": "s3", "S3_BUCKET": "b", "S3_ADDRESSING_STYLE": "dns"},
            "S3_ADDRESSING_STYLE must be one of path, virtual, auto, not 'dns'",
        ),
        (
            {"MEDIA_STORAGE": "s3", "S3_BUCKET": "b", "S3_ENDPOINT_URL": "minio:9000"},
            "S3_ENDPOINT_URL must be an http:// or https:// URL, not 'minio:9000'",
        ),
    ],
)
def test_media_settings_that_cannot_work_stop_the_process_even_in_development(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    environ = {**DEV, "VAR_DIR": str(tmp_path), **env}
    settings = Settings.from_env("onboarding", environ)
    with pytest.raises(ConfigError) as refused:
        validate_for_start(settings, environ=environ)
    message = str(refused.value)
    assert message.startswith("refusing to start onboarding: ") and says in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match=re.escape(says)):
        FileStore.from_settings(settings)  # nor is a store built from them behind the check's back


def test_a_service_that_keeps_no_files_starts_without_a_bucket(tmp_path: Path) -> None:
    environ = {**DEV, "VAR_DIR": str(tmp_path), "MEDIA_STORAGE": "s3", "ONBOARDING_S3_BUCKET": "o"}
    for service in ("console", "billing"):
        assert validate_for_start(Settings.from_env(service, environ), environ=environ) == []
    assert validate_for_start(Settings.from_env("onboarding", environ), environ=environ) == []


def test_the_worker_command_refuses_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    env = {**DEV, "VAR_DIR": str(tmp_path), "MEDIA_STORAGE": "s3", "S3_BUCKET": ""}
    result = CliRunner().invoke(main, ["worker", "training"], env=env)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "yunkefu: refusing to start training: MEDIA_STORAGE=s3 needs S3_BUCKET (or TRAINING_S3_BUCKET), "
        "the bucket the training files are kept in."
    ]
