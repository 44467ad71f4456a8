// meetbox browser client: the signaling protocol of docs/signaling.md over one WebSocket,
// with a publisher and a subscriber RTCPeerConnection. No dependencies, no build step.
//
//   const client = new MeetboxClient(wsUrl, token, { iceServers });
//   client.addEventListener("track", (e) => ...);   // e.detail: {track, stream, info}
//   await client.connect();
//   await client.publish(mediaStream, { [trackId]: "camera" });
//
// On media_reset (the meeting's media moved to another media process) both peer connections
// are replaced: fresh ones, media_ready, the tracks being sent published again (the same
// MediaStreamTracks, so mute states hold), and the new subscribe_offer answered; remote
// tracks come back as "track" events. A "mediareset" event says it happened.

export class MeetboxClient extends EventTarget {
  constructor(wsUrl, token, { iceServers = [] } = {}) {
    super();
    this.wsUrl = wsUrl;
    this.token = token;
    this.config = { iceServers, bundlePolicy: "max-bundle" };
    this.tracks = new Map(); // track id -> track info from the server
    this.mids = new Map(); // subscriber mid -> the track id it carries now (mids are reused)
    this.joined = null;
    this.bye = null;
    this.resets = 0; // media_reset messages handled
    this._pendingAnswer = null;
    this._videoCodec = null;
    this._connect();
  }

  // A fresh publisher and subscriber; events of replaced ones are ignored.
  _connect() {
    const publisher = this.publisher = new RTCPeerConnection(this.config);
    const subscriber = this.subscriber = new RTCPeerConnection(this.config);
    subscriber.ontrack = (event) => {
      if (subscriber !== this.subscriber) return;
      const trackId = this.mids.get(event.transceiver?.mid) ?? event.track.id;
      const info = this.tracks.get(trackId) || null;
      const mid = event.transceiver?.mid ?? null;
      this.dispatchEvent(new CustomEvent("track", { detail: { track: event.track, stream: event.streams[0], info, mid } }));
    };
    for (const [pc, target] of [[publisher, "publisher"], [subscriber, "subscriber"]]) {
      pc.onicecandidate = (event) => {
        if (event.candidate && (pc === this.publisher || pc === this.subscriber)) {
          this.send({ type: "ice_candidate", target, candidate: event.candidate.candidate,
                      sdp_mid: event.candidate.sdpMid, sdp_mline_index: event.candidate.sdpMLineIndex });
        }
      };
    }
  }

  // Join; resolves with the joined message. Events: "message", "track", "reconnecting",
  // "reconnected" and "close" ({code, reason, bye}: the end, after any reconnecting).
  connect() {
    return new Promise((resolve, reject) => {
      this._open({ type: "join", token: this.token }, resolve, reject);
    });
  }

  _open(hello, resolve, reject) {
    const ws = new WebSocket(this.wsUrl);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(hello));
    ws.onmessage = async (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "bye") this.bye = message.reason;
      await this._handle(message);
      if (message.type === "joined") resolve(message);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      const wasJoined = this.joined !== null;
      // A dropped connection (no bye, not closed by us): resume within the server's window,
      // keeping the peer connections, so nobody sees us leave.
      if (wasJoined && !this.bye && !this._closing && Date.now() < (this._resumeUntil ??= Date.now() + 20000)) {
        if (hello.type === "join") this.dispatchEvent(new CustomEvent("reconnecting"));
        setTimeout(() => this._open({ type: "resume", resume_token: this.joined.resume_token },
          () => { this._resumeUntil = null; this.dispatchEvent(new CustomEvent("reconnected")); },
          () => {}), 1000);
        return;
      }
      this.dispatchEvent(new CustomEvent("close", { detail: { code: event.code, reason: event.reason, bye: this.bye || null } }));
      if (!wasJoined) reject(new Error(`closed ${event.code} ${event.reason}`));
    };
  }

  send(message) {
    this.ws.send(JSON.stringify(message));
  }

  // videoCodec: "VP8" or "H264" to prefer one (default: the browser's order).
  // sources: {trackId: "microphone" | "camera" | "screen" | "screen_audio"}.
  async publish(stream, sources = {}, { videoCodec = null } = {}) {
    if (videoCodec) this._videoCodec = videoCodec;
    const transceivers = stream.getTracks().map((track) => {
      const source = sources[track.id] || (track.kind === "audio" ? "microphone" : "camera");
      // A source published before (and stopped since) sends again on its m-line.
      const old = this.publisher.getTransceivers().find((t) => t._meetboxSource === source && t.direction === "inactive");
      if (old) {
        old.sender.replaceTrack(track);
        old.direction = "sendonly";
        return [track, old];
      }
      return [track, this._send(track, source, stream)];
    });
    this._preferCodec(transceivers, videoCodec);
    await this._offer();
  }

  _send(track, source, stream) {
    const transceiver = this.publisher.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    transceiver._meetboxSource = source;
    transceiver._meetboxStream = stream;
    return transceiver;
  }

  _preferCodec(transceivers, videoCodec) {
    if (!videoCodec) return;
    const wanted = RTCRtpSender.getCapabilities("video").codecs
      .filter((c) => c.mimeType.toLowerCase() === `video/${videoCodec.toLowerCase()}`);
    if (!wanted.length) throw new Error(`this browser cannot send ${videoCodec}`);
    for (const [track, transceiver] of transceivers) {
      if (track.kind === "video") transceiver.setCodecPreferences(wanted);
    }
  }

  // media_reset: the server's side of both connections is gone. Fresh connections, then
  // media_ready (what we send after it is for the fresh ones), then publish again.
  _reset() {
    this.resets += 1;
    const again = this.publisher.getTransceivers()
      .filter((t) => t._meetboxSource && t.direction === "sendonly" && t.sender.track)
      .map((t) => ({ track: t.sender.track, source: t._meetboxSource, stream: t._meetboxStream }));
    const old = [this.publisher, this.subscriber];
    this._pendingAnswer?.resolve(null); // an offer in flight was for the old publisher
    this._pendingAnswer = null;
    this.mids.clear();
    this._connect();
    for (const pc of old) pc.close(); // the local tracks go on: a browser does not stop them
    this.send({ type: "media_ready" });
    this.dispatchEvent(new CustomEvent("mediareset"));
    if (again.length) this._publishAgain(again); // its answer comes through _handle
  }

  async _publishAgain(again) {
    try {
      const transceivers = again.map(({ track, source, stream }) => [track, this._send(track, source, stream)]);
      this._preferCodec(transceivers, this._videoCodec);
      await this._offer();
    } catch (error) {
      console.warn(`publishing again after a media reset failed: ${error.message}`);
    }
  }

  // Stop sending a published track: its m-line goes inactive; everyone is told.
  async unpublish(track) {
    const transceiver = this.publisher.getTransceivers().find((t) => t.sender.track === track);
    if (!transceiver) return;
    transceiver.direction = "inactive";
    await transceiver.sender.replaceTrack(null);
    await this._offer();
  }

  // A media reset under way makes this return quietly: the reset publishes everything again.
  async _offer() {
    const pc = this.publisher;
    try {
      await pc.setLocalDescription(await pc.createOffer());
    } catch (error) {
      if (pc !== this.publisher) return; // closed by a reset meanwhile
      throw error;
    }
    if (pc !== this.publisher) return;
    const mids = {};
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.mid !== null && transceiver._meetboxSource) mids[transceiver.mid] = transceiver._meetboxSource;
    }
    const answer = new Promise((resolve, reject) => { this._pendingAnswer = { resolve, reject }; });
    this.send({ type: "publish_offer", sdp: pc.localDescription.sdp, sources: mids });
    const sdp = await answer;
    if (sdp === null || pc !== this.publisher) return;
    await pc.setRemoteDescription({ type: "answer", sdp });
  }

  async _handle(message) {
    switch (message.type) {
      case "joined":
        this.joined = message;
        for (const track of message.tracks) this.tracks.set(track.id, track);
        break;
      case "track_published":
        this.tracks.set(message.track.id, message.track);
        break;
      case "track_unpublished":
        this.tracks.delete(message.track_id);
        break;
      case "publish_answer":
        this._pendingAnswer?.resolve(message.sdp);
        this._pendingAnswer = null;
        break;
      case "subscribe_offer": {
        const pc = this.subscriber; // a reset while this runs makes the answer moot
        for (const [mid, trackId] of Object.entries(message.tracks || {})) this.mids.set(mid, trackId);
        try {
          await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
          await pc.setLocalDescription(await pc.createAnswer());
        } catch (error) {
          if (pc !== this.subscriber) break; // closed by a reset meanwhile
          throw error;
        }
        if (pc !== this.subscriber) break;
        this.send({ type: "subscribe_answer", sdp: pc.localDescription.sdp });
        break;
      }
      case "media_reset":
        this._reset();
        break;
      case "error":
        if (this._pendingAnswer && ["invalid_sdp", "forbidden", "too_many_tracks", "no_media_ports"].includes(message.code)) {
          this._pendingAnswer.reject(new Error(message.message));
          this._pendingAnswer = null;
        }
        break;
    }
    this.dispatchEvent(new CustomEvent("message", { detail: message }));
  }

  close() {
    this._closing = true;
    this.ws?.close();
    this.publisher.close();
    this.subscriber.close();
  }
}
