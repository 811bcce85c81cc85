import type { ByteSink } from '../../core/egress.js';
import { Egress, type EgressPolicy } from '../../core/egress.js';
import type { EndReason, Subscriber } from '../../core/types.js';
import type { Frame } from '../../media/frame.js';
import type { Counters } from '../../observability/counters.js';
import { encodeMessages } from '../../protocols/rtmp/chunk-encoder.js';
import { dataMessage, onStatus } from '../../protocols/rtmp/commands.js';
import * as ctl from '../../protocols/rtmp/control.js';
import type { RtmpMessage } from '../../protocols/rtmp/message.js';

export interface RtmpPlayerOptions {
  id: string;
  streamId: number;
  name: string;
  chunkSize: number;
  /** FourCCs the client announced in connect; Enhanced RTMP frames go only to players that listed theirs */
  fourCcList: string[];
  reset: boolean;
  policy: EgressPolicy;
  counters: Counters;
  sink: ByteSink;
  hasVideo: () => boolean;
  /** called when the player must go: slow consumer or stream over */
  onEnd: (reason: EndReason | 'slow-consumer') => void;
}

/** An RTMP viewer: shares each frame's chunk bytes with every other RTMP viewer (msid 1, fixed csids). */
export class RtmpPlayer implements Subscriber {
  readonly protocol = 'rtmp';
  readonly egress: Egress;
  paused = false;
  receiveAudio = true;
  receiveVideo = true;
  started = false;
  private readonly anyFourCc: boolean;
  private readonly fourCcs: Set<string>;

  constructor(private readonly o: RtmpPlayerOptions) {
    this.anyFourCc = o.fourCcList.includes('*');
    this.fourCcs = new Set(o.fourCcList);
    this.egress = new Egress(
      o.sink,
      (f) => this.encode(f),
      o.policy,
      {
        onDrop: (reason, n) => o.counters.inc('frames_dropped', `rtmp:${reason}`, n),
        onSlowConsumer: () => o.onEnd('slow-consumer'),
      },
      o.hasVideo,
    );
  }

  get id(): string {
    return this.o.id;
  }

  private encode(f: Frame): Buffer | undefined {
    if (f.flags.fourCc && !this.anyFourCc && !this.fourCcs.has(f.flags.fourCc)) return undefined;
    if (f.type === 8 && !this.receiveAudio) return undefined;
    if (f.type === 9 && !this.receiveVideo && !f.flags.sequenceHeader) return undefined;
    return f.rtmp(this.o.chunkSize);
  }

  private control(msgs: RtmpMessage[]): void {
    this.egress.pushRaw(encodeMessages(msgs, this.o.chunkSize));
  }

  start(init: readonly Frame[]): void {
    const sid = this.o.streamId;
    const msgs: RtmpMessage[] = [ctl.userControl(ctl.UserControlEvent.StreamBegin, sid)];
    if (this.started) {
      this.egress.resumeAtKeyframe(); // a returning publisher: start again on its first keyframe
      msgs.push(onStatus(sid, 'status', 'NetStream.Play.PublishNotify', `${this.o.name} is now published.`));
    } else {
      if (this.o.reset)
        msgs.push(onStatus(sid, 'status', 'NetStream.Play.Reset', `Playing and resetting ${this.o.name}.`));
      msgs.push(onStatus(sid, 'status', 'NetStream.Play.Start', `Started playing ${this.o.name}.`));
      msgs.push(dataMessage(['|RtmpSampleAccess', true, true], sid));
    }
    this.started = true;
    this.control(msgs);
    this.egress.push(init);
  }

  write(frames: readonly Frame[]): void {
    if (!this.paused) this.egress.push(frames);
  }

  /** live pause: stop delivery; on resume, start again at the next keyframe */
  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    if (!paused) this.egress.resumeAtKeyframe();
  }

  end(reason: EndReason): void {
    const sid = this.o.streamId;
    if (reason === 'not-found') {
      this.control([
        onStatus(sid, 'error', 'NetStream.Play.StreamNotFound', `No such stream: ${this.o.name}`),
      ]);
    } else if (this.started) {
      // UnpublishNotify ends ffmpeg; StreamEOF(1) ends GStreamer (protocol brief §0 rule 9)
      this.control([
        ctl.userControl(ctl.UserControlEvent.StreamEOF, sid),
        onStatus(sid, 'status', 'NetStream.Play.UnpublishNotify', `${this.o.name} is now unpublished.`),
      ]);
    }
    this.o.onEnd(reason);
  }
}
