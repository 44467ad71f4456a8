// meetbox browser client: the signaling protocol of docs/signaling.md over one WebSocket,
// with a publisher and a subscriber RTCPeerConnection. No dependencies, no build step.
//
//   const client = new MeetboxClient(wsUrl, token, { iceServers });
//   client.addEventListener("track", (e) => ...);   // e.detail: {track, stream, info}
//   await client.connect();
//   await client.publish(mediaStream, { [trackId]: "camera" });

export class MeetboxClient extends EventTarget {
  constructor(wsUrl, token, { iceServers = [] } = {}) {
    super();
    this.wsUrl = wsUrl;
    this.token = token;
    this.config = { iceServers, bundlePolicy: "max-bundle" };
    this.publisher = new RTCPeerConnection(this.config);
    this.subscriber = new RTCPeerConnection(this.config);
    this.tracks = new Map(); // track id -> track info from the server
    this.mids = new Map(); // subscriber mid -> the track id it carries now (mids are reused)
    this.joined = null;
    this.bye = null;
    this._pendingAnswer = null;
    this.subscriber.ontrack = (event) => {
      const trackId = this.mids.get(event.transceiver?.mid) ?? event.track.id;
      const info = this.tracks.get(trackId) || null;
      const mid = event.transceiver?.mid ?? null;
      this.dispatchEvent(new CustomEvent("track", { detail: { track: event.track, stream: event.streams[0], info, mid } }));
    };
    for (const [pc, target] of [[this.publisher, "publisher"], [this.subscriber, "subscriber"]]) {
      pc.onicecandidate = (event) => {
        if (event.candidate) {
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
    const transceivers = stream.getTracks().map((track) => {
      const source = sources[track.id] || (track.kind === "audio" ? "microphone" : "camera");
      // A source published before (and stopped since) sends again on its m-line.
      const old = this.publisher.getTransceivers().find((t) => t._meetboxSource === source && t.direction === "inactive");
      if (old) {
        old.sender.replaceTrack(track);
        old.direction = "sendonly";
        return [track, old];
      }
      const transceiver = this.publisher.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      transceiver._meetboxSource = source;
      return [track, transceiver];
    });
    if (videoCodec) {
      const wanted = RTCRtpSender.getCapabilities("video").codecs
        .filter((c) => c.mimeType.toLowerCase() === `video/${videoCodec.toLowerCase()}`);
      if (!wanted.length) throw new Error(`this browser cannot send ${videoCodec}`);
      for (const [track, transceiver] of transceivers) {
        if (track.kind === "video") transceiver.setCodecPreferences(wanted);
      }
    }
    await this._offer();
  }

  // Stop sending a published track: its m-line goes inactive; everyone is told.
  async unpublish(track) {
    const transceiver = this.publisher.getTransceivers().find((t) => t.sender.track === track);
    if (!transceiver) return;
    transceiver.direction = "inactive";
    await transceiver.sender.replaceTrack(null);
    await this._offer();
  }

  async _offer() {
    await this.publisher.setLocalDescription(await this.publisher.createOffer());
    const mids = {};
    for (const transceiver of this.publisher.getTransceivers()) {
      if (transceiver.mid !== null && transceiver._meetboxSource) mids[transceiver.mid] = transceiver._meetboxSource;
    }
    const answer = new Promise((resolve, reject) => { this._pendingAnswer = { resolve, reject }; });
    this.send({ type: "publish_offer", sdp: this.publisher.localDescription.sdp, sources: mids });
    await this.publisher.setRemoteDescription({ type: "answer", sdp: await answer });
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
      case "subscribe_offer":
        for (const [mid, trackId] of Object.entries(message.tracks || {})) this.mids.set(mid, trackId);
        await this.subscriber.setRemoteDescription({ type: "offer", sdp: message.sdp });
        await this.subscriber.setLocalDescription(await this.subscriber.createAnswer());
        this.send({ type: "subscribe_answer", sdp: this.subscriber.localDescription.sdp });
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
