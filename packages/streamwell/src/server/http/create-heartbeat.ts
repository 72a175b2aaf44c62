/**
 * One shared heartbeat for every open event stream.
 *
 * A timer per connection costs a timer object, a closure and a re-arm per token; at 15k idle
 * streams that is real memory and CPU. Instead one interval sweeps all connections. Writers only
 * store the current tick number when they write (an integer store on the per-token path, no clock
 * read), and the sweep sends `: ping` to every connection that has written nothing for a full
 * heartbeat interval.
 *
 * The sweep runs {@link TICKS_PER_BEAT} times per interval, so a quiet connection gets its
 * comment between 3/4 and 1 interval after its last write, and an idle one exactly once per
 * interval.
 *
 * @module
 */

/**
 * Sweeps per heartbeat interval: the resolution of "nothing was written for an interval".
 *
 * @internal
 */
export const TICKS_PER_BEAT = 4;

/**
 * A connection the heartbeat looks after.
 *
 * @internal
 */
export interface HeartbeatMember {
  /** The heartbeat's tick at this member's last write. */
  lastWriteTick: number;
  /** Write a keep-alive comment now. */
  ping(): void;
}

/**
 * The shared heartbeat.
 *
 * @internal
 */
export interface Heartbeat<Member extends HeartbeatMember> {
  /** The current tick; writers copy it into `lastWriteTick`. */
  readonly tick: number;
  /** Members (open connections). */
  readonly members: ReadonlySet<Member>;
  /** Adds a member; starts the interval on the first one. */
  add(member: Member): void;
  /** Removes a member; stops the interval when none are left (so an idle process can exit). */
  remove(member: Member): void;
}

/**
 * Creates a heartbeat.
 *
 * @param intervalMs - the keep-alive interval; 0 disables pings (members are still tracked)
 * @returns the heartbeat
 *
 * @internal
 */
export function createHeartbeat<Member extends HeartbeatMember>(intervalMs: number): Heartbeat<Member> {
  const members = new Set<Member>();
  let tick = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  function sweep(): void {
    tick += 1;
    for (const member of members) {
      if (tick - member.lastWriteTick >= TICKS_PER_BEAT) {
        member.lastWriteTick = tick;
        member.ping();
      }
    }
  }

  return {
    get tick() {
      return tick;
    },
    members,
    add(member) {
      members.add(member);
      if (timer === undefined && intervalMs > 0) {
        timer = setInterval(sweep, Math.max(1, Math.floor(intervalMs / TICKS_PER_BEAT)));
        // Open streams keep the process alive through their sockets, not through this timer.
        timer.unref?.();
      }
    },
    remove(member) {
      members.delete(member);
      if (members.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  };
}
