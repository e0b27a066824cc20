// live-standings: what every widget and the live page share. Options from the query string,
// label strings, JSON reads with ETags, the nudge stream with a polling fallback, OBS hooks.
'use strict';
window.LS = (() => {
  const query = new URLSearchParams(location.search);
  const opt = (name, fallback) => {
    const v = query.get(name);
    return v === null || v.trim() === '' ? fallback : v.trim();
  };
  const num = (name, fallback, min, max) => {
    const n = Number(opt(name, NaN));
    return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
  };

  // Every visible text, renamable with `t.<key>=...` (translations, shorter labels).
  const STRINGS = {
    rank: '#', name: 'Player', rating: 'Rating', peak: 'Peak', wl: 'W-L', streak: 'Streak',
    recent: 'Recent', live: 'Live', team: 'Team', members: 'Players', avg: 'Avg rating',
    winpct: 'Win %', standings: 'Standings', teams: 'Teams', live_now: 'Live now',
    no_live: 'No games in progress', finished: 'Game over', won: 'won', beat: 'beat', on: 'on',
    lead: 'takes the lead', ladder: 'Ladder rank', record: 'Record', matches: 'Recent matches',
    rating_chart: 'Rating progression', position_chart: 'Position over time',
    not_found: 'Player not found', no_tournament: 'Add ?tournament=<slug> to the URL',
    unknown_tournament: 'Tournament not found', reconnecting: 'reconnecting…', updated: 'live',
    polling: 'polling', win: 'W', loss: 'L', playing: 'playing now', streaming: 'streaming',
    no_players: 'No players yet', opponent: 'opponent', opponents: 'opponents', other: 'other', others: 'others', no_matches: 'No matches yet', map: 'Map', position: 'Position',
  };
  const t = (key) => query.get('t.' + key) || STRINGS[key] || key;

  // Look: theme class, scale, font size, accent colour (CSSOM only: the CSP forbids inline styles).
  const root = document.documentElement;
  const theme = opt('theme', document.body && document.body.classList.contains('page') ? 'auto' : 'transparent');
  root.classList.add('theme-' + (['transparent', 'dark', 'light', 'auto'].includes(theme) ? theme : 'transparent'));
  root.style.setProperty('--scale', String(num('scale', 1, 0.25, 4)));
  root.style.setProperty('--font', num('font', 20, 8, 96) + 'px');
  const accent = opt('accent', '');
  if (/^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(accent)) {
    root.style.setProperty('--accent', accent.startsWith('#') ? accent : '#' + accent);
  }

  // Builds DOM from data; text is always text (no HTML from the API reaches the parser).
  function h(tag, attrs, ...kids) {
    const svg = tag.startsWith('svg:');
    const el = svg
      ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
      : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }

  // JSON reads: an unchanged resource costs a 304 (If-None-Match with the last ETag).
  const known = new Map();
  async function get(path) {
    const prev = known.get(path);
    const response = await fetch(path, {
      cache: 'no-store',
      headers: prev ? { 'If-None-Match': prev.etag } : {},
    });
    if (response.status === 304 && prev) return prev.data;
    if (!response.ok) {
      const error = new Error(path + ': HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    const data = await response.json();
    const etag = response.headers.get('ETag');
    if (etag) known.set(path, { etag, data });
    return data;
  }

  // The tournament: `?tournament=` for widgets, the path for the live page.
  const pathSlug = location.pathname.startsWith('/t/')
    ? decodeURIComponent(location.pathname.slice(3).split('/')[0])
    : '';
  const slug = pathSlug || opt('tournament', '');
  const base = '/v1/tournaments/' + encodeURIComponent(slug);

  // Stays live: `refresh()` after every nudge for this tournament (coalesced), after the stream
  // (re)connects, when OBS shows the source again; polls every `poll` seconds while the stream
  // is unavailable. EventSource resumes with Last-Event-ID by itself after a drop.
  function follow(refresh, onStatus) {
    const pollMs = num('poll', 15, 2, 600) * 1000;
    let pending = null;
    let pollTimer = null;
    let source = null;
    const kick = () => {
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        refresh();
      }, 100);
    };
    const startPolling = () => {
      if (!pollTimer) pollTimer = setInterval(kick, pollMs);
    };
    const stopPolling = () => {
      clearInterval(pollTimer);
      pollTimer = null;
    };
    const connect = () => {
      if (!('EventSource' in window) || opt('stream', 'on') === 'off') {
        startPolling();
        onStatus('polling');
        return;
      }
      // One stream per browser, shared by every page (stream-worker.js says why).
      const worker = document.querySelector('meta[name="ls-stream-worker"]');
      if (worker && 'SharedWorker' in window) {
        const shared = new SharedWorker(worker.content, { name: 'live-standings-stream' });
        shared.port.onmessage = (message) => {
          const type = message.data && message.data.type;
          if (type === 'open') {
            stopPolling();
            onStatus('live');
          } else if (type === 'error') {
            onStatus('reconnecting');
            startPolling();
          } else if (type === 'nudge') {
            kick();
          }
        };
        shared.port.start();
        shared.port.postMessage({ type: 'follow', slug });
        window.addEventListener('pagehide', () => shared.port.postMessage({ type: 'leave' }));
        return;
      }
      source = new EventSource('/v1/stream?tournament=' + encodeURIComponent(slug));
      source.onopen = () => {
        stopPolling();
        onStatus('live');
      };
      // `hello` (a fresh connection) and `resync` (missed nudges) both mean: refetch now.
      for (const kind of ['hello', 'resync', 'standings', 'matches', 'live']) {
        source.addEventListener(kind, kick);
      }
      source.onerror = () => {
        onStatus('reconnecting');
        startPolling();
        if (source.readyState === EventSource.CLOSED) {
          source = null;
          setTimeout(connect, 30000);
        }
      };
    };
    connect();
    const onShown = (e) => {
      const detail = (e && e.detail) || {};
      if (detail.visible !== false && detail.active !== false) kick();
    };
    // obs-browser's callbacks: refetch when the scene shows the source again.
    window.addEventListener('obsSourceVisibleChanged', onShown);
    window.addEventListener('obsSourceActiveChanged', (e) => {
      root.classList.toggle('obs-inactive', !!(e.detail && e.detail.active === false));
      onShown(e);
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) kick();
    });
    return kick;
  }

  // Marks the first render for the Performance API (the browser tests read it).
  let renders = 0;
  function rendered() {
    renders += 1;
    root.dataset.renders = String(renders);
    if (renders === 1) performance.mark('ls-first-render');
  }

  const name = (row) => (row && (row.alias || row.name)) || '?';
  const streak = (n) => (!n ? '–' : n > 0 ? t('win') + n : t('loss') + -n);
  const hue = (id) => (Number(id) * 137) % 360;
  // A team's mark: its initials on its colour (a stable hue from the id).
  function teamMark(team) {
    if (!team) return null;
    const el = h('span', { class: 'team-mark', title: team.name }, team.initials || team.name.slice(0, 3));
    el.style.setProperty('--team', 'hsl(' + hue(team.team_id) + ' 60% 42%)');
    return el;
  }
  const outcomeChip = (o) =>
    h('span', { class: 'chip ' + (o === 'win' ? 'win' : 'loss'), title: o }, o === 'win' ? t('win') : t('loss'));
  const liveDot = (row) =>
    row.in_match ? h('span', { class: 'live-dot', title: t('playing'), 'aria-label': t('playing') }) : null;
  function message(text) {
    return h('p', { class: 'message' }, text);
  }
  function errorText(error) {
    if (!slug) return t('no_tournament');
    if (error && error.status === 404) return t('unknown_tournament');
    return t('reconnecting');
  }

  return { query, opt, num, t, h, get, slug, base, follow, rendered, name, streak, hue, teamMark, outcomeChip, liveDot, message, errorText };
})();
