//! Distances on the earth, and the circle a `near` filter admits.

use super::request::Near;

/// Mean earth radius.
pub(super) const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in km.
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    EARTH_RADIUS_KM * 2.0 * a.sqrt().atan2((1.0 - a).sqrt())
}

/// The records within `within_km` of a point: a latitude and longitude box around the circle
/// rejects most records with two comparisons, before the great-circle distance (with its
/// trigonometry) decides the rest.
#[derive(Debug, Clone, Copy)]
pub(super) struct Circle {
    pub(super) near: Near,
    pub(super) km: f64,
    /// Latitudes outside `lat_min..=lat_max` are farther than `km`.
    pub(super) lat_min: f64,
    pub(super) lat_max: f64,
    /// Longitudes more than this from the centre's are farther (none near a pole).
    pub(super) lon_delta: Option<f64>,
}

impl Circle {
    /// Slack on the box's angles, so that rounding never rejects a record on the circle.
    const SLACK: f64 = 1.0 + 1e-6;

    pub(super) fn new(near: Near) -> Self {
        let km = near.within_km.unwrap_or(f64::INFINITY);
        // the angle the radius subtends at the earth's centre; latitude apart by more is
        // farther whatever the longitude
        let angle = (km / EARTH_RADIUS_KM) * Self::SLACK;
        let lat = near.lat.to_radians();
        let (lat_min, lat_max) = (lat - angle, lat + angle);
        let half_pi = std::f64::consts::FRAC_PI_2;
        // farthest longitude of the circle (Matuschek's bounding coordinates)
        let lon_delta = if lat_min > -half_pi && lat_max < half_pi {
            Some((angle.sin() / lat.cos()).asin().to_degrees() * Self::SLACK)
        } else {
            None
        };
        Circle {
            near,
            km,
            lat_min: lat_min.to_degrees(),
            lat_max: lat_max.to_degrees(),
            lon_delta: lon_delta.filter(|d| d.is_finite()),
        }
    }

    #[inline]
    pub(super) fn contains(&self, lat: f64, lon: f64) -> bool {
        if lat < self.lat_min || lat > self.lat_max {
            return false;
        }
        if let Some(delta) = self.lon_delta {
            let apart = ((lon - self.near.lon).rem_euclid(360.0) + 180.0).rem_euclid(360.0) - 180.0;
            if apart.abs() > delta {
                return false;
            }
        }
        haversine_km(self.near.lat, self.near.lon, lat, lon) <= self.km
    }
}
