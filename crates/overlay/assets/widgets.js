// live-standings overlay widgets: standings, teams, live, player, ticker. Each renders from the
// public JSON, then re-renders on every nudge (see core.js `follow`).
'use strict';
(() => {
  const { opt, num, t, h, get, slug, base, follow, rendered, name, streak, teamMark, outcomeChip, liveDot, message, errorText } = LS;
  const root = document.getElementById('root');
  const widget = document.body.dataset.widget;
  const title = opt('title', '');

  const COLUMNS = ['rank', 'name', 'rating', 'peak', 'wl', 'streak', 'recent', 'live'];
  function cell(column, row, index) {
    const record = row.tournament_record || {};
    switch (column) {
      case 'rank': return index + 1;
      case 'name': return [teamMark(row.team), h('span', { class: 'who' }, name(row))];
      case 'rating': return row.current_rating ?? '–';
      case 'peak': return record.peak_rating ?? row.max_rating ?? '–';
      case 'wl': return (record.wins || 0) + '-' + (record.losses || 0);
      case 'streak': return streak(record.streak);
      case 'recent': return (record.recent_matchups || []).slice(0, 5).map((m) => outcomeChip(m.outcome));
      case 'live': return [liveDot(row), row.stream_live ? h('span', { class: 'stream', title: t('streaming') }, '●') : null];
      default: return '';
    }
  }

  async function standings() {
    const data = await get(base + '/standings');
    const columns = opt('cols', 'rank,name,rating,wl,streak,live')
      .split(',')
      .filter((c) => COLUMNS.includes(c));
    const rows = data.items.slice(0, num('top', 10, 1, 200));
    if (!rows.length) return message(t('no_players'));
    return h('table', { class: 'board' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: 'c-' + c, scope: 'col' }, t(c))))),
      h('tbody', {}, rows.map((row, i) =>
        h('tr', { 'data-row': row.tournament_player_id, 'data-rating': row.current_rating ?? '', class: row.in_match ? 'in-match' : null },
          columns.map((c) => h('td', { class: 'c-' + c }, cell(c, row, i)))))));
  }

  async function teams() {
    const data = await get(base + '/teams/standings');
    const rows = data.items.slice(0, num('top', 8, 1, 64));
    if (!rows.length) return message(t('no_players'));
    return h('table', { class: 'board' },
      h('thead', {}, h('tr', {}, ['rank', 'team', 'avg', 'wl', 'winpct'].map((c) => h('th', { class: 'c-' + c, scope: 'col' }, t(c))))),
      h('tbody', {}, rows.map((team, i) =>
        h('tr', { 'data-row': team.team_id, 'data-rating': Math.round(team.combined_rating_average) },
          h('td', { class: 'c-rank' }, i + 1),
          h('td', { class: 'c-name' }, teamMark(team), h('span', { class: 'who' }, team.name)),
          h('td', { class: 'c-avg' }, Math.round(team.combined_rating_average)),
          h('td', { class: 'c-wl' }, team.combined_wins + '-' + team.combined_losses),
          h('td', { class: 'c-winpct' }, team.win_pct === null ? '–' : team.win_pct + '%')))));
  }

  // Names and civilizations of the people in a game.
  let civs = null;
  async function civName(id) {
    if (!civs) {
      const list = await get('/v1/civilizations').catch(() => []);
      civs = new Map((Array.isArray(list) ? list : list.items || []).map((c) => [c.civilization_id, c.name]));
    }
    return civs.get(id) || '';
  }
  async function sides(match, byProfile, rows) {
    const players = match.players.length
      ? match.players
      : rows.filter((r) => r.live_match_id === match.match_id).map((r) => ({ profile_id: r.profile_id, team_id: 0, old_rating: r.current_rating }));
    const teamsOf = new Map();
    for (const p of players) {
      const row = byProfile.get(p.profile_id);
      const civ = p.civilization_id ? await civName(p.civilization_id) : '';
      const line = h('li', { class: 'side-player' + (p.outcome ? ' ' + p.outcome : '') },
        row ? teamMark(row.team) : null,
        h('span', { class: 'who' }, row ? name(row) : String(p.profile_id)),
        civ ? h('span', { class: 'civ' }, civ) : null,
        h('span', { class: 'rating' }, p.new_rating ?? p.old_rating ?? (row && row.current_rating) ?? ''));
      if (!teamsOf.has(p.team_id)) teamsOf.set(p.team_id, []);
      teamsOf.get(p.team_id).push(line);
    }
    return [...teamsOf.values()].map((lines, i) => [i ? h('li', { class: 'vs', 'aria-hidden': 'true' }, 'vs') : null, lines]);
  }
  function winners(match, byProfile) {
    return match.players.filter((p) => p.outcome === 'win').map((p) => name(byProfile.get(p.profile_id)) || p.profile_id).join(', ');
  }

  // A game that ends shows "Game over" with its result for `hide` seconds: a game is "new"
  // when it was not among the finished ones at the first render.
  let seenFinished = new Set();
  const finishedAt = new Map();
  let firstLive = true;
  let hideTimer = null;
  async function live() {
    const [games, matches, table] = await Promise.all([
      get(base + '/live'),
      get(base + '/matches?limit=20'),
      get(base + '/standings'),
    ]);
    const byProfile = new Map(table.items.filter((r) => r.profile_id).map((r) => [r.profile_id, r]));
    const now = Date.now();
    const completed = matches.items.filter((m) => m.state === 'completed').map((m) => m.match_id);
    for (const id of completed) {
      if (!firstLive && !seenFinished.has(id)) finishedAt.set(id, now);
    }
    // Only the current list: a game that left it is older than every new one (bounded for 24 h).
    seenFinished = new Set(completed);
    firstLive = false;
    const hideMs = num('hide', 20, 0, 3600) * 1000;
    const recent = matches.items.filter((m) => finishedAt.has(m.match_id) && now - finishedAt.get(m.match_id) < hideMs);
    for (const [id, at] of finishedAt) if (now - at >= hideMs) finishedAt.delete(id);
    clearTimeout(hideTimer);
    if (finishedAt.size) {
      const next = Math.min(...[...finishedAt.values()].map((at) => at + hideMs - now));
      hideTimer = setTimeout(refreshNow, Math.max(0, next) + 50);
    }
    const cards = [];
    for (const m of recent) {
      cards.push(h('article', { class: 'game finished', 'data-match': m.match_id, 'data-state': 'finished' },
        h('header', {}, h('span', { class: 'badge' }, t('finished')), h('span', { class: 'map' }, m.map_name)),
        h('p', { class: 'result' }, winners(m, byProfile), ' ', t('won')),
        h('ul', { class: 'sides' }, await sides(m, byProfile, table.items))));
    }
    for (const m of games.items) {
      cards.push(h('article', { class: 'game', 'data-match': m.match_id, 'data-state': 'live' },
        h('header', {}, h('span', { class: 'live-dot' }), h('span', { class: 'badge' }, t('live_now')), h('span', { class: 'map' }, m.map_name)),
        h('ul', { class: 'sides' }, await sides(m, byProfile, table.items))));
    }
    root.classList.toggle('empty', !cards.length && opt('empty', 'hide') === 'hide');
    return cards.length ? h('div', { class: 'games' }, cards) : message(t('no_live'));
  }

  function findPlayer(rows, q) {
    const lower = q.toLowerCase();
    const names = (r) => [String(r.alias || '').toLowerCase(), String(r.name || '').toLowerCase()];
    return rows.find((r) => String(r.profile_id) === q)
      || rows.find((r) => names(r).includes(lower))
      || rows.find((r) => names(r).some((n) => n.startsWith(lower)));
  }

  async function player() {
    const table = await get(base + '/standings');
    const row = findPlayer(table.items, opt('player', ''));
    if (!row) return message(t('not_found'));
    const record = row.tournament_record || {};
    const stat = (key, value) => h('div', { class: 'stat stat-' + key }, h('dt', {}, t(key)), h('dd', {}, value));
    return h('article', { class: 'card', 'data-row': row.tournament_player_id, 'data-rating': row.current_rating ?? '' },
      h('header', {}, teamMark(row.team), h('h2', { class: 'who' }, name(row)), liveDot(row)),
      h('dl', { class: 'stats' },
        stat('position', '#' + (table.items.indexOf(row) + 1)),
        stat('rating', row.current_rating ?? '–'),
        stat('peak', record.peak_rating ?? row.max_rating ?? '–'),
        stat('ladder', row.rank ? '#' + row.rank : '–'),
        stat('record', (record.wins || 0) + '-' + (record.losses || 0)),
        stat('streak', streak(record.streak))),
      h('p', { class: 'recent' }, (record.recent_matchups || []).slice(0, 10).map((m) => outcomeChip(m.outcome))));
  }

  // Recent results and lead changes, newest first, scrolling (static with reduced motion).
  const leads = [];
  let leader = null;
  async function ticker() {
    const [matches, table] = await Promise.all([get(base + '/matches?limit=50'), get(base + '/standings')]);
    const byProfile = new Map(table.items.filter((r) => r.profile_id).map((r) => [r.profile_id, r]));
    const top = table.items[0];
    if (top && leader !== null && leader !== top.tournament_player_id) {
      leads.unshift(h('li', { class: 'item lead' }, h('span', { class: 'who' }, name(top)), ' ', t('lead')));
      leads.length = Math.min(leads.length, 3);
    }
    if (top) leader = top.tournament_player_id;
    const items = matches.items
      .filter((m) => m.state === 'completed')
      .slice(0, num('count', 10, 1, 50))
      .map((m) => {
        const won = m.players.filter((p) => p.outcome === 'win');
        const lost = m.players.filter((p) => p.outcome !== 'win');
        // Rostered players by name, the others counted: "Alice + 3 others".
        const names = (ps) => {
          const known = ps.filter((p) => byProfile.has(p.profile_id)).map((p) => name(byProfile.get(p.profile_id)));
          const others = ps.length - known.length;
          if (!others) return known.join(' + ');
          const rest = others === 1 ? t(known.length ? 'other' : 'opponent') : others + ' ' + t(known.length ? 'others' : 'opponents');
          return known.concat(rest).join(' + ');
        };
        const delta = won.length && won[0].new_rating !== null && won[0].old_rating !== null
          ? ' (+' + (won[0].new_rating - won[0].old_rating) + ')' : '';
        return h('li', { class: 'item', 'data-match': m.match_id },
          h('span', { class: 'who' }, names(won)), ' ', t('beat'), ' ', h('span', { class: 'who' }, names(lost)),
          ' ', t('on'), ' ', m.map_name, delta);
      });
    if (!items.length && !leads.length) return message(t('no_matches'));
    const track = h('ul', { class: 'track' }, leads.map((l) => l.cloneNode(true)), items);
    // About the same speed whatever the length (~7 characters a second). Estimated from the
    // text, not measured: a measuring requestAnimationFrame never runs in a hidden page, and
    // each queued one kept its old track alive (the heap grew ~16 KiB per render).
    track.style.setProperty('--ticker-seconds', Math.max(10, track.textContent.length / 7) + 's');
    return h('div', { class: 'ticker' }, track);
  }

  const RENDER = { standings, teams, live, player, ticker };
  if (title) document.title = title;
  let running = false;
  let again = false;
  async function refreshNow() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const view = await RENDER[widget]();
      root.replaceChildren(...(title ? [h('h1', { class: 'title' }, title)] : []), view);
      rendered();
    } catch (error) {
      root.replaceChildren(message(errorText(error)));
    } finally {
      running = false;
      if (again) {
        again = false;
        refreshNow();
      }
    }
  }
  if (!slug) {
    root.replaceChildren(message(t('no_tournament')));
    return;
  }
  refreshNow().then(() => follow(refreshNow, (status) => root.setAttribute('data-stream', status)));
})();
