// live-standings: the public live page of one tournament (/t/{slug}). Tables, live games,
// recent matches and two charts drawn locally as inline SVG; kept live by the nudge stream.
'use strict';
(() => {
  const { t, h, get, base, follow, rendered, name, streak, teamMark, outcomeChip, liveDot, errorText } = LS;
  const root = document.getElementById('root');
  const status = document.getElementById('status');
  const heading = document.getElementById('title');
  const PALETTE = ['#e0a526', '#4e9af1', '#3fbf6f', '#e0524a', '#b071e0', '#2ec4c4', '#f07ab0', '#a0a0a0'];

  function section(id, title, ...body) {
    return h('section', { id, 'aria-labelledby': id + '-h' }, h('h2', { id: id + '-h' }, title), body);
  }

  function table(caption, headers, rows) {
    return h('div', { class: 'scroll' }, h('table', { class: 'data' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
  }

  function standingsTable(items) {
    return table(t('standings'), [t('rank'), t('name'), t('rating'), t('peak'), t('wl'), t('streak'), t('recent')],
      items.map((r, i) => {
        const record = r.tournament_record || {};
        return h('tr', { 'data-row': r.tournament_player_id, 'data-rating': r.current_rating ?? '' },
          h('td', {}, i + 1),
          h('th', { scope: 'row' }, teamMark(r.team), name(r), liveDot(r)),
          h('td', {}, r.current_rating ?? '–'),
          h('td', {}, record.peak_rating ?? r.max_rating ?? '–'),
          h('td', {}, (record.wins || 0) + '-' + (record.losses || 0)),
          h('td', {}, streak(record.streak)),
          h('td', {}, (record.recent_matchups || []).slice(0, 5).map((m) => outcomeChip(m.outcome))));
      }));
  }

  function teamsTable(items) {
    return table(t('teams'), [t('rank'), t('team'), t('avg'), t('wl'), t('winpct')],
      items.map((team, i) => h('tr', { 'data-row': team.team_id },
        h('td', {}, i + 1),
        h('th', { scope: 'row' }, teamMark(team), team.name),
        h('td', {}, Math.round(team.combined_rating_average)),
        h('td', {}, team.combined_wins + '-' + team.combined_losses),
        h('td', {}, team.win_pct === null ? '–' : team.win_pct + '%'))));
  }

  function matchLine(m, byProfile) {
    const label = (p) => name(byProfile.get(p.profile_id)) + (p.outcome === 'win' ? ' ✓' : '');
    const teams = new Map();
    for (const p of m.players) {
      if (!teams.has(p.team_id)) teams.set(p.team_id, []);
      teams.get(p.team_id).push(label(p));
    }
    const fallback = m.players.length ? '' : name(null);
    return h('li', { 'data-match': m.match_id },
      h('span', { class: 'map' }, m.map_name), ': ',
      [...teams.values()].map((names) => names.join(' + ')).join(' vs ') || fallback);
  }

  // One line per series over an x range; y grows downwards when `invert` (positions).
  function chart(label, series, { invert = false } = {}) {
    const W = 640, H = 240, P = 28;
    const all = series.flatMap((s) => s.points);
    if (all.length < 2) return h('p', { class: 'muted' }, t('no_matches'));
    const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const sx = (x) => P + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * P);
    const sy = (y) => invert ? P + ((y - y0) / (y1 - y0 || 1)) * (H - 2 * P) : H - P - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * P);
    const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' },
      h('svg:title', {}, label),
      h('svg:text', { x: 2, y: invert ? P : H - P, class: 'axis' }, y0),
      h('svg:text', { x: 2, y: invert ? H - P : P, class: 'axis' }, y1),
      series.map((s) => h('svg:polyline', {
        points: s.points.map((p) => sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1)).join(' '),
        fill: 'none', stroke: s.color, 'stroke-width': 2.5, 'stroke-linejoin': 'round',
      })));
    const legend = h('ul', { class: 'legend' }, series.map((s) => {
      const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.setProperty('--swatch', s.color);
      return h('li', {}, swatch, s.name);
    }));
    return h('figure', { class: 'figure' }, svg, h('figcaption', {}, legend));
  }

  async function render() {
    const [tournament, standings, teams, live, matches, progression, history] = await Promise.all([
      get(base),
      get(base + '/standings'),
      get(base + '/teams/standings'),
      get(base + '/live'),
      get(base + '/matches?limit=15'),
      get(base + '/progression').catch(() => ({ items: [] })),
      get(base + '/standings/history').catch(() => ({ buckets: [], players: [] })),
    ]);
    document.title = tournament.name + ' · live standings';
    heading.textContent = tournament.name;
    const byProfile = new Map(standings.items.filter((r) => r.profile_id).map((r) => [r.profile_id, r]));
    const leaders = standings.items.slice(0, PALETTE.length).map((r) => r.tournament_player_id);
    const colour = (id) => PALETTE[leaders.indexOf(id)];
    const ratingSeries = progression.items
      .filter((p) => leaders.includes(p.tournament_player_id) && p.points.length)
      .map((p) => ({ name: p.alias, color: colour(p.tournament_player_id), points: p.points.map((q) => [Date.parse(q.completed_at), q.rating]) }));
    const positionSeries = (history.players || [])
      .filter((p) => leaders.includes(p.tournament_player_id))
      .map((p) => ({ name: p.name, color: colour(p.tournament_player_id), points: p.points.map((q, i) => [i, q.position]).filter((q) => q[1] > 0) }));
    const games = live.items.map((m) => {
      const inGame = standings.items.filter((r) => r.live_match_id === m.match_id);
      return h('li', { 'data-match': m.match_id }, h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'map' }, m.map_name), ': ', inGame.map((r) => name(r) + ' (' + (r.current_rating ?? '–') + ')').join(', '));
    });
    root.replaceChildren(
      section('standings', t('standings'), standingsTable(standings.items)),
      section('live', t('live_now'), games.length ? h('ul', { class: 'list' }, games) : h('p', { class: 'muted' }, t('no_live'))),
      teams.items.length ? section('teams', t('teams'), teamsTable(teams.items)) : '',
      section('matches', t('matches'), matches.items.length
        ? h('ul', { class: 'list' }, matches.items.filter((m) => m.state === 'completed').map((m) => matchLine(m, byProfile)))
        : h('p', { class: 'muted' }, t('no_matches'))),
      section('rating-chart', t('rating_chart'), chart(t('rating_chart'), ratingSeries)),
      section('position-chart', t('position_chart'), chart(t('position_chart'), positionSeries, { invert: true })));
    rendered();
  }

  let running = false, again = false;
  async function refresh() {
    if (running) { again = true; return; }
    running = true;
    try {
      await render();
    } catch (error) {
      status.textContent = errorText(error);
    } finally {
      running = false;
      if (again) { again = false; refresh(); }
    }
  }
  refresh().then(() => follow(refresh, (state) => {
    status.textContent = t(state === 'live' ? 'updated' : state);
    status.dataset.state = state;
  }));
})();
