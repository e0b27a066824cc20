//! Query-string parsing with the contract's 422 on bad values (axum's extractor says 400).

use std::collections::HashMap;
use std::str::FromStr;

use crate::error::{ApiError, ApiResult};

pub struct Params(pub HashMap<String, String>);

impl Params {
    pub fn get<T: FromStr>(&self, name: &str) -> ApiResult<Option<T>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|_| ApiError::query(name, format!("invalid value {raw:?}"))),
        }
    }

    /// An integer within `min..=max`, or `default` when absent.
    pub fn int_in(&self, name: &str, min: i64, max: i64, default: i64) -> ApiResult<i64> {
        let value = self.get::<i64>(name)?.unwrap_or(default);
        if value < min || value > max {
            return Err(ApiError::query(
                name,
                format!("must be between {min} and {max}"),
            ));
        }
        Ok(value)
    }
}
