// Active speaker (signalling/PROTOCOL.md, `speakers`): the media server
// lists who is speaking, loudest first, when that changes. The page
//   - marks the loudest speaker's tile (a thick border and a "Speaking"
//     label: not colour alone), the person's own small tile included;
//   - with two or more others in the call, shows the latest remote speaker
//     in the large tile, staying with them through pauses, and switching no
//     more often than FEATURE_DWELL_MS so the layout does not jump about;
//   - tells screen readers "<name> is speaking" through a polite live
//     region, only when the speaker changes and at most every ANNOUNCE_MS.

export const FEATURE_DWELL_MS = 2000;
export const ANNOUNCE_MS = 5000;

// ActiveSpeaker keeps the speaker state of the call screen.
//   tiles          the Tiles of the others (setSpeaking, setFeatured, has)
//   selfTile       the person's own tile element
//   selfId()       the person's participant id (or '')
//   nameOf(pid)    a display name
//   announcer      the live-region element for "X is speaking"
export class ActiveSpeaker {
  constructor({ tiles, selfTile, selfId, nameOf, announcer }) {
    this.tiles = tiles;
    this.selfTile = selfTile;
    this.selfId = selfId;
    this.nameOf = nameOf;
    this.announcer = announcer;
    this.list = []; // the last speakers message, loudest first
    this.loudest = ''; // highlighted: a remote pid, 'self', or ''
    this.featured = ''; // remote pid in the large tile, or ''
    this.featuredAt = 0;
    this.featureTimer = 0;
    this.remoteLoudest = ''; // the loudest other person speaking now, or ''
    this.lastRemote = ''; // the latest loudest other person with a tile
    this.announced = '';
    this.announcedAt = 0;
    this.announceTimer = 0;
  }

  // update takes a speakers message's list.
  update(list) {
    this.list = (Array.isArray(list) ? list : [])
      .filter((s) => s && typeof s.participantId === 'string')
      .map((s) => ({ participantId: s.participantId, level: Number(s.level) || 0 }));
    const me = this.selfId();
    const first = this.list[0];
    let loudest = '';
    if (first) loudest = first.participantId === me ? 'self' : first.participantId;
    this.setLoudest(loudest);
    const remote = this.list.find((s) => s.participantId !== me);
    this.remoteLoudest = remote ? remote.participantId : '';
    if (remote && this.tiles.has(remote.participantId)) this.lastRemote = remote.participantId;
    this.layout();
    this.announce();
  }

  setLoudest(who) {
    if (who === this.loudest) return;
    this.loudest = who;
    this.tiles.setSpeaking(who && who !== 'self' ? who : '');
    if (this.selfTile) this.selfTile.classList.toggle('speaking', who === 'self');
  }

  // layout chooses the large tile: with one other person there is none
  // (their tile fills the stage anyway); with more, the latest speaker,
  // or the first tile before anyone has spoken.
  layout() {
    clearTimeout(this.featureTimer);
    const ids = this.tiles.ids();
    if (ids.length < 2) {
      this.setFeatured('');
      return;
    }
    let want = this.lastRemote && ids.includes(this.lastRemote) ? this.lastRemote : '';
    if (!want) want = ids.includes(this.featured) ? this.featured : ids[0];
    if (want === this.featured) return;
    const wait = this.featured && ids.includes(this.featured) ? this.featuredAt + FEATURE_DWELL_MS - Date.now() : 0;
    if (wait > 0) {
      this.featureTimer = setTimeout(() => this.layout(), wait);
      return;
    }
    this.setFeatured(want);
  }

  setFeatured(pid) {
    if (pid === this.featured) return;
    this.featured = pid;
    this.featuredAt = Date.now();
    this.tiles.setFeatured(pid);
  }

  // announce says who speaks when the remote speaker changed, rate-limited.
  announce() {
    clearTimeout(this.announceTimer);
    const who = this.remoteLoudest;
    if (!who || who === this.announced) return;
    const wait = this.announcedAt + ANNOUNCE_MS - Date.now();
    if (wait > 0) {
      this.announceTimer = setTimeout(() => this.announce(), wait);
      return;
    }
    this.announced = who;
    this.announcedAt = Date.now();
    this.announcer.textContent = `${this.nameOf(who)} is speaking.`;
  }

  // tilesChanged re-lays the stage after someone's tile came or went.
  tilesChanged() {
    if (this.lastRemote && !this.tiles.has(this.lastRemote)) this.lastRemote = '';
    if (this.loudest && this.loudest !== 'self' && !this.tiles.has(this.loudest)) this.setLoudest('');
    this.layout();
  }

  clear() {
    clearTimeout(this.featureTimer);
    clearTimeout(this.announceTimer);
    this.list = [];
    this.remoteLoudest = '';
    this.lastRemote = '';
    this.setLoudest('');
    this.setFeatured('');
  }

  state() {
    return { speakers: this.list.map((s) => ({ ...s })), loudest: this.loudest, featured: this.featured };
  }
}
