//! Path, query and header values of a request.

use super::*;

impl Fuzzer<'_> {
    /// A path parameter: a real id most of the time, junk otherwise.
    pub(super) fn path_value(&mut self, op: &Operation, name: &str) -> String {
        if self.chance(0.22) {
            return match self.rng.gen_range(0..10) {
                0 => "a".repeat(self.rng.gen_range(65..3000)),
                1 => "9".repeat(self.rng.gen_range(20..400)),
                2 => (0..self.rng.gen_range(1..40))
                    .map(|_| "%F0%9F%92%A5")
                    .collect(),
                _ => self.pick(JUNK_SEGMENTS).to_string(),
            };
        }
        if let Some((team, player)) = self.pinned {
            match name {
                "team_id" => return team.to_string(),
                "tournament_player_id" => return player.to_string(),
                _ => {}
            }
        }
        match name {
            "tournament_slug" => {
                // `hera` must survive: it is what the final checks read.
                if op.id.starts_with("delete_tournament_") {
                    let deletable: Vec<String> = self
                        .pools
                        .slugs
                        .iter()
                        .filter(|s| *s != "hera")
                        .cloned()
                        .collect();
                    return if deletable.is_empty() || self.chance(0.2) {
                        "spare".into()
                    } else {
                        self.pick(&deletable).clone()
                    };
                }
                if self.chance(0.8) {
                    "hera".into()
                } else {
                    let slugs = self.pools.slugs.clone();
                    let mut options = vec!["current".to_string(), "nope".to_string()];
                    options.extend(slugs);
                    self.pick(&options).clone()
                }
            }
            "tournament_player_id" => {
                let players = self.deletable(op, self.pools.players.clone());
                self.pooled(&players, self.seeded[0])
            }
            "team_id" => {
                let teams = self.deletable(op, self.pools.teams.clone());
                self.pooled(&teams, self.seeded[4])
            }
            "match_id" => self.pooled(&self.pools.matches.clone(), MATCH_ID),
            "user_id" => {
                let mut users: Vec<String> = self
                    .pools
                    .users
                    .iter()
                    .filter(|u| *u != OWNER)
                    .cloned()
                    .collect();
                users.push(OTHER.into());
                users.push(self.uuid());
                // Revoking `OWNER` from `hera` would end the run's owner writes there.
                if !op.id.starts_with("revoke_tournament_owner_") {
                    users.push(OWNER.into());
                }
                let user = self.pick(&users).clone();
                if self.chance(0.2) {
                    user.to_uppercase()
                } else {
                    user
                }
            }
            _ => {
                let schema = op
                    .params
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| p.schema.clone())
                    .unwrap_or(Value::Null);
                let value = self.conforming(&schema, name, 0);
                encode(&plain(&value))
            }
        }
    }

    /// Deletes mostly take what the run created: the seed's rows keep the other routes' rules
    /// (members, captains, linked matches) reachable longer.
    pub(super) fn deletable(&mut self, op: &Operation, ids: Vec<i64>) -> Vec<i64> {
        if op.method != "DELETE" || self.chance(0.15) {
            return ids;
        }
        let seeded = self.seeded;
        let created: Vec<i64> = ids.into_iter().filter(|id| !seeded.contains(id)).collect();
        if created.is_empty() {
            vec![424_242]
        } else {
            created
        }
    }

    pub(super) fn pooled(&mut self, pool: &[i64], fallback: i64) -> String {
        if pool.is_empty() || self.chance(0.1) {
            fallback.to_string()
        } else {
            self.pick(pool).to_string()
        }
    }

    pub(super) fn query_value(&mut self, param: &Param) -> String {
        if param.name == "tournament" && self.chance(0.3) {
            // The stream's filter is a comma-separated list (at most 20).
            let mut slugs = self.pools.slugs.clone();
            slugs.push("nope".into());
            let n = self.rng.gen_range(1..30);
            let list: Vec<String> = (0..n).map(|_| self.pick(&slugs).clone()).collect();
            return encode(&list.join(","));
        }
        if self.chance(0.55) {
            let value = self.conforming(&param.schema, &param.name, 0);
            return encode(&plain(&value));
        }
        if param.schema["format"] == "date-time" {
            let date = *self.pick(EDGE_DATETIMES);
            return encode(date);
        }
        match self.rng.gen_range(0..6) {
            0 => {
                // Just outside the declared bounds.
                let min = param.schema["minimum"].as_i64().unwrap_or(0);
                let max = param.schema["maximum"].as_i64().unwrap_or(i64::MAX);
                let v = if self.chance(0.5) {
                    min.saturating_sub(1)
                } else {
                    max.saturating_add(1)
                };
                v.to_string()
            }
            1 => "9".repeat(self.rng.gen_range(19..300)),
            2 => encode(&self.text(0, 30)),
            _ => self.pick(JUNK_QUERY).to_string(),
        }
    }

    pub(super) fn request(&mut self, op: &Operation) -> Request {
        let mut notes = vec![];
        self.pinned = None;
        if op.path.contains("{team_id}") && !self.pools.members.is_empty() && self.chance(0.4) {
            self.pinned = Some(*self.pick(&self.pools.members.clone()));
        }
        let mut target = String::new();
        for segment in op.path.split('/').skip(1) {
            target.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => target.push_str(&self.path_value(op, name)),
                None => target.push_str(segment),
            }
        }

        let mut query = vec![];
        let mut headers: Vec<(String, Vec<u8>)> = vec![];
        for param in &op.params {
            match param.location.as_str() {
                "query" if self.chance(0.6) => {
                    let value = self.query_value(param);
                    query.push(format!("{}={value}", param.name));
                    if self.chance(0.12) {
                        let again = self.query_value(param);
                        query.push(format!("{}={again}", param.name));
                        notes.push(format!("repeated {}", param.name));
                    }
                }
                "header" if self.chance(0.3) => {
                    let value: Vec<u8> = match self.rng.gen_range(0..6) {
                        0 => b"\"0123456789abcdef\"".to_vec(),
                        1 => b"*".to_vec(),
                        2 => b"W/\"x\", \"y\"".to_vec(),
                        3 => vec![b'7'; self.rng.gen_range(1..5000)],
                        4 => b"\xff\xfe-not-ascii".to_vec(),
                        _ => {
                            // What a client can put in a header: no control characters.
                            let v = self.conforming(&param.schema, &param.name, 0);
                            let mut bytes = plain(&v).into_bytes();
                            bytes.retain(|b| *b >= 0x20 && *b != 0x7f);
                            bytes
                        }
                    };
                    headers.push((param.name.clone(), value));
                }
                _ => {}
            }
        }
        if self.chance(0.08) {
            let extra = *self.pick(&["zzz=1", "limit[]=1", "%00=1", "&&", "=x", "a=%FF"]);
            query.push(extra.to_string());
        }
        if !query.is_empty() {
            target.push('?');
            target.push_str(&query.join("&"));
        }

        // Who calls: owner writes reach the rules; the others their 401 / 403 answers.
        let caller = if op.secured {
            self.rng.gen_range(0..20)
        } else {
            self.rng.gen_range(10..40)
        };
        let token = match caller {
            0..=11 => Some(self.owner.to_string()),
            12..=14 => Some(self.other.to_string()),
            15..=17 => Some(self.pick(self.garbage).clone()),
            18 | 19 => None,
            20..=23 => Some(self.owner.to_string()),
            24..=25 => Some(self.pick(self.garbage).clone()),
            _ => None,
        };
        if let Some(token) = token {
            if self.chance(0.5) {
                headers.push((
                    "cookie".into(),
                    format!("{}={token}", auth::COOKIE).into_bytes(),
                ));
            } else {
                let scheme = *self.pick(&["Bearer", "Bearer", "bearer", "Basic", ""]);
                headers.push((
                    "authorization".into(),
                    format!("{scheme} {token}").into_bytes(),
                ));
            }
        }

        let body = match &op.body {
            Some(schema) => Some(self.body(schema, &mut notes)),
            None if op.method != "GET" && self.chance(0.1) => {
                notes.push("unexpected body".into());
                Some(b"{\"surprise\": true}".to_vec())
            }
            None => None,
        };
        if body.is_some() && self.chance(0.9) {
            headers.push(("content-type".into(), b"application/json".to_vec()));
        }
        if op.method != "GET" && self.chance(0.1) {
            let key = match self.rng.gen_range(0..4) {
                0 => "not-a-uuid".to_string(),
                1 => self.used_key.clone(),
                _ => self.uuid(),
            };
            self.used_key = key.clone();
            headers.push(("idempotency-key".into(), key.into_bytes()));
        }
        Request {
            method: op.method.clone(),
            target,
            headers,
            body,
            note: notes.join(", "),
        }
    }
}
