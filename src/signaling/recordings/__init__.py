"""Recordings: one ``python -m recorder`` process a recording, followed by the server.

- :mod:`~signaling.recordings.service`: :class:`RecordingService`, which ties the rest.
- :mod:`~signaling.recordings.contract`: the recorder's command line and status events, the
  server's contract that the recorder implements (pure, standard library only).
- :mod:`~signaling.recordings.transitions`: the recording state machine (pure).
- :mod:`~signaling.recordings.access`: who may see and manage what (pure);
  :mod:`~signaling.recordings.gate`: those rules applied with the store.
- :mod:`~signaling.recordings.supervisor`: the runs under way, stop deadlines, shutdown;
  :mod:`~signaling.recordings.following`: what reports and exits do to the recordings.
- :mod:`~signaling.recordings.processes`, :mod:`~signaling.recordings.orphans`: recorder
  processes, this server's and a previous one's.
- :mod:`~signaling.recordings.files`: paths, temporaries, sizes, zips.

Importing this package imports nothing (the recorder imports the contract from here).
"""
