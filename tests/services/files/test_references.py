"""Job and file references match whole: a reference with anything after it (a newline included)
names nothing."""

from __future__ import annotations

import pytest

from services.access.caller import LOCAL_CALLER


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\x00", " "])
def test_job_and_file_references_match_whole_not_up_to_a_newline(services, suffix):
    """``re.match`` with ``$`` accepted a trailing newline, which then reached a file name."""
    from services.errors import FileGone
    from services.jobs.record import JobNotFound

    reference = "0123456789abcdef" * 2
    with pytest.raises(JobNotFound):
        services.jobs.get(LOCAL_CALLER, reference + suffix)
    with pytest.raises(JobNotFound):
        services.jobs.get(LOCAL_CALLER, reference[:-1] + suffix)
    with pytest.raises(FileGone):
        services.files.store.path(LOCAL_CALLER, reference + suffix)
