"""Post-call transcription of delivered recordings (Amazon Transcribe), driven by Step Functions.

One Lambda function, ``recording_processor.transcription.handler.handler``, serves every task of
the per-recording state machine, dispatched on the input's ``action``:

* ``plan``: decide what to do with a recording (:mod:`~recording_processor.transcription._plan`):
  skip it, or the exact ``StartCallAnalyticsJob`` / ``StartTranscriptionJob`` request;
* ``start`` and ``status``: the Transcribe calls (:mod:`~recording_processor.transcription._jobs`);
* ``record`` and ``fail``: the catalog's ``TRANSCRIPT#<callId>`` item and the ``Transcript
  Available`` / ``Transcription Failed`` events (:mod:`~recording_processor.transcription._record`).
* ``await`` and ``job-event``: the task token of the step waiting for the job, stored on that
  item and returned when Transcribe's job state change event arrives
  (:mod:`~recording_processor.transcription._wake`).

The configuration is read from the environment (:mod:`~recording_processor.transcription._options`).
Standard library and boto3 only.
"""

from __future__ import annotations

__all__: list[str] = []
