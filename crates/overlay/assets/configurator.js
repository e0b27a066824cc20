// live-standings overlay configurator: builds a widget URL from the form, previews it, copies it.
'use strict';
(() => {
  const form = document.getElementById('form');
  const urlField = document.getElementById('url');
  const preview = document.getElementById('preview');
  const open = document.getElementById('open');
  const nightbot = document.getElementById('nightbot');
  const livePage = document.getElementById('livepage');
  const COLUMNS = { rank: true, name: true, rating: true, peak: false, wl: true, streak: true, recent: false, live: true };
  const DEFAULTS = { theme: 'transparent', scale: '1', font: '20', accent: '#e0a526', top: '10', teams_top: '8', hide: '20', empty: 'hide', count: '10' };

  const cols = document.getElementById('cols');
  for (const [column, on] of Object.entries(COLUMNS)) {
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.name = 'col';
    box.value = column;
    box.checked = on;
    const label = document.createElement('label');
    label.append(box, column);
    cols.append(label);
  }

  // Only options that differ from the widget's defaults go into the URL: short URLs.
  function build() {
    const data = new FormData(form);
    const widget = data.get('widget');
    const slug = String(data.get('tournament') || '').trim();
    const params = new URLSearchParams();
    if (slug) params.set('tournament', slug);
    for (const key of ['theme', 'scale', 'font', 'accent', 'title']) {
      const value = String(data.get(key) || '').trim();
      if (value && value !== DEFAULTS[key]) params.set(key, key === 'accent' ? value.replace('#', '') : value);
    }
    const extra = {
      standings: ['top'],
      teams: ['teams_top'],
      live: ['hide', 'empty'],
      player: ['player'],
      ticker: ['count'],
    }[widget] || [];
    for (const key of extra) {
      const value = String(data.get(key) || '').trim();
      if (value && value !== DEFAULTS[key]) params.set(key === 'teams_top' ? 'top' : key, value);
    }
    if (widget === 'standings') {
      const chosen = data.getAll('col');
      const standard = Object.keys(COLUMNS).filter((c) => COLUMNS[c]);
      if (chosen.join(',') !== standard.join(',')) params.set('cols', chosen.join(','));
    }
    for (const fieldset of form.querySelectorAll('fieldset[data-for]')) {
      fieldset.hidden = fieldset.dataset.for !== widget;
    }
    const url = location.origin + '/overlay/' + widget + '?' + params.toString();
    urlField.value = url;
    open.href = url;
    if (preview.src !== url) preview.src = url;
    const api = location.origin + '/v1/tournaments/' + encodeURIComponent(slug || 'SLUG');
    nightbot.textContent = '!addcom !standings $(urlfetch ' + api + '/text/standings?top=5)   ·   !addcom !rank $(urlfetch ' + api + '/text/player?q=$(querystring))';
    livePage.href = '/t/' + encodeURIComponent(slug || '');
    livePage.textContent = location.origin + '/t/' + (slug || '…');
  }

  let timer = null;
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(build, 250);
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  document.getElementById('copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(urlField.value);
    } catch {
      urlField.select();
      document.execCommand('copy');
    }
  });

  // Suggest the tournaments this server knows; preselect from `?tournament=`.
  const list = document.getElementById('tournaments');
  fetch('/v1/tournaments')
    .then((r) => (r.ok ? r.json() : []))
    .then((tournaments) => {
      for (const t of tournaments) {
        const option = document.createElement('option');
        option.value = t.slug;
        option.label = t.name;
        list.append(option);
      }
      const input = form.elements.tournament;
      if (!input.value && tournaments.length) input.value = tournaments[0].slug;
      build();
    })
    .catch(build);
  const preset = new URLSearchParams(location.search).get('tournament');
  if (preset) form.elements.tournament.value = preset;
  build();
})();
