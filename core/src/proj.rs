//! Pure-Rust coordinate projections for the CRSs stacking needs: geographic WGS 84
//! (EPSG:4326, always `x = lon, y = lat` like pyproj's `always_xy=True`), WGS 84 / UTM zones
//! (EPSG:326xx north, 327xx south) and Web Mercator (EPSG:3857).
//!
//! The transverse Mercator is PROJ's default `tmerc` algorithm (Poder/Engsager, the 6th-order
//! Krüger series of `etmerc`), so projected coordinates agree with pyproj/PROJ to well below a
//! millimetre. The issue asked for the `proj4rs` crate, but on `wasm32-unknown-unknown` it
//! depends unconditionally on `wasm-bindgen`, `js-sys` and `web-sys`, which the core's
//! dependency boundary (`cargo xtask boundary`) forbids; this module is the replacement.
//!
//! ```
//! use geochip::proj::Projection;
//! use geochip::Crs;
//! let utm = Projection::from_crs(&Crs::Epsg(32755)).unwrap();
//! let (x, y) = utm.forward(147.0, 0.0).unwrap();
//! assert!((x - 500000.0).abs() < 1e-9 && (y - 10000000.0).abs() < 1e-9);
//! ```

use crate::crs::Crs;

/// Errors from projecting coordinates.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProjError {
    /// A CRS this module cannot project (only EPSG:4326, 3857, 326xx and 327xx are built in).
    #[error(
        "proj: cannot reproject {crs}: only EPSG:4326, EPSG:3857 and WGS 84 / UTM \
         (EPSG:32601-32660, 32701-32760) are supported"
    )]
    Unsupported {
        /// The CRS (EPSG code or the start of its text).
        crs: String,
    },
    /// A point the projection cannot map (outside its domain, or not finite).
    #[error("proj: point ({x}, {y}) cannot be projected to {crs}")]
    OutOfDomain {
        /// x (or longitude).
        x: f64,
        /// y (or latitude).
        y: f64,
        /// Target CRS.
        crs: String,
    },
}

/// WGS 84 semi-major axis (m).
const A: f64 = 6378137.0;
/// WGS 84 inverse flattening.
const RF: f64 = 298.257223563;
/// Order of the Krüger series.
const ORDER: usize = 6;

/// A projection between geographic WGS 84 longitude/latitude (degrees) and a CRS's x/y.
///
/// ```
/// use geochip::proj::Projection;
/// let p = Projection::from_crs(&"EPSG:4326".parse().unwrap()).unwrap();
/// assert_eq!(p.forward(10.0, 20.0).unwrap(), (10.0, 20.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Projection {
    /// EPSG:4326 (x = longitude, y = latitude, degrees).
    Geographic,
    /// EPSG:3857 spherical Web Mercator on the WGS 84 semi-major axis.
    WebMercator,
    /// WGS 84 / UTM.
    Utm(Box<Tmerc>),
}

/// Transverse Mercator constants (PROJ `tmerc`, exact/Poder-Engsager variant).
#[derive(Debug, Clone, PartialEq)]
pub struct Tmerc {
    /// UTM zone 1..=60.
    pub zone: u32,
    /// Southern hemisphere (false northing 10 000 km).
    pub south: bool,
    lon0: f64,
    qn: f64,
    zb: f64,
    cgb: [f64; ORDER],
    cbg: [f64; ORDER],
    utg: [f64; ORDER],
    gtu: [f64; ORDER],
}

impl Tmerc {
    fn utm(zone: u32, south: bool) -> Self {
        let f0 = 1.0 / RF;
        let es = f0 * (2.0 - f0);
        let k0 = 0.9996;
        let f = es / (1.0 + (1.0 - es).sqrt());
        let n = f / (2.0 - f);
        let mut np = n;
        let mut cgb = [0.0; ORDER];
        let mut cbg = [0.0; ORDER];
        let mut utg = [0.0; ORDER];
        let mut gtu = [0.0; ORDER];
        cgb[0] = n
            * (2.0
                + n * (-2.0 / 3.0
                    + n * (-2.0 + n * (116.0 / 45.0 + n * (26.0 / 45.0 + n * (-2854.0 / 675.0))))));
        cbg[0] = n
            * (-2.0
                + n * (2.0 / 3.0
                    + n * (4.0 / 3.0
                        + n * (-82.0 / 45.0 + n * (32.0 / 45.0 + n * (4642.0 / 4725.0))))));
        np *= n;
        cgb[1] = np
            * (7.0 / 3.0
                + n * (-8.0 / 5.0
                    + n * (-227.0 / 45.0 + n * (2704.0 / 315.0 + n * (2323.0 / 945.0)))));
        cbg[1] = np
            * (5.0 / 3.0
                + n * (-16.0 / 15.0
                    + n * (-13.0 / 9.0 + n * (904.0 / 315.0 + n * (-1522.0 / 945.0)))));
        np *= n;
        cgb[2] = np
            * (56.0 / 15.0 + n * (-136.0 / 35.0 + n * (-1262.0 / 105.0 + n * (73814.0 / 2835.0))));
        cbg[2] =
            np * (-26.0 / 15.0 + n * (34.0 / 21.0 + n * (8.0 / 5.0 + n * (-12686.0 / 2835.0))));
        np *= n;
        cgb[3] = np * (4279.0 / 630.0 + n * (-332.0 / 35.0 + n * (-399572.0 / 14175.0)));
        cbg[3] = np * (1237.0 / 630.0 + n * (-12.0 / 5.0 + n * (-24832.0 / 14175.0)));
        np *= n;
        cgb[4] = np * (4174.0 / 315.0 + n * (-144838.0 / 6237.0));
        cbg[4] = np * (-734.0 / 315.0 + n * (109598.0 / 31185.0));
        np *= n;
        cgb[5] = np * (601676.0 / 22275.0);
        cbg[5] = np * (444337.0 / 155925.0);

        np = n * n;
        let qn = k0 / (1.0 + n) * (1.0 + np * (1.0 / 4.0 + np * (1.0 / 64.0 + np / 256.0)));
        utg[0] = n
            * (-0.5
                + n * (2.0 / 3.0
                    + n * (-37.0 / 96.0
                        + n * (1.0 / 360.0 + n * (81.0 / 512.0 + n * (-96199.0 / 604800.0))))));
        gtu[0] = n
            * (0.5
                + n * (-2.0 / 3.0
                    + n * (5.0 / 16.0
                        + n * (41.0 / 180.0 + n * (-127.0 / 288.0 + n * (7891.0 / 37800.0))))));
        utg[1] = np
            * (-1.0 / 48.0
                + n * (-1.0 / 15.0
                    + n * (437.0 / 1440.0 + n * (-46.0 / 105.0 + n * (1118711.0 / 3870720.0)))));
        gtu[1] = np
            * (13.0 / 48.0
                + n * (-3.0 / 5.0
                    + n * (557.0 / 1440.0 + n * (281.0 / 630.0 + n * (-1983433.0 / 1935360.0)))));
        np *= n;
        utg[2] = np
            * (-17.0 / 480.0 + n * (37.0 / 840.0 + n * (209.0 / 4480.0 + n * (-5569.0 / 90720.0))));
        gtu[2] = np
            * (61.0 / 240.0
                + n * (-103.0 / 140.0 + n * (15061.0 / 26880.0 + n * (167603.0 / 181440.0))));
        np *= n;
        utg[3] = np * (-4397.0 / 161280.0 + n * (11.0 / 504.0 + n * (830251.0 / 7257600.0)));
        gtu[3] = np * (49561.0 / 161280.0 + n * (-179.0 / 168.0 + n * (6601661.0 / 7257600.0)));
        np *= n;
        utg[4] = np * (-4583.0 / 161280.0 + n * (108847.0 / 3991680.0));
        gtu[4] = np * (34729.0 / 80640.0 + n * (-3418889.0 / 1995840.0));
        np *= n;
        utg[5] = np * (-20648693.0 / 638668800.0);
        gtu[5] = np * (212378941.0 / 319334400.0);

        // Origin latitude 0: Gaussian latitude 0, so Zb = -Qn * (0 + clens(gtu, 0)) = 0.
        let z = gatg(&cbg, 0.0);
        let zb = -qn * (z + clens(&gtu, 2.0 * z));
        Self {
            zone,
            south,
            lon0: (f64::from(zone) * 6.0 - 183.0).to_radians(),
            qn,
            zb,
            cgb,
            cbg,
            utg,
            gtu,
        }
    }

    fn false_northing(&self) -> f64 {
        if self.south { 10_000_000.0 } else { 0.0 }
    }

    fn fwd(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        let phi = lat.to_radians();
        let lam = adjlon(lon.to_radians() - self.lon0);
        let mut cn = gatg(&self.cbg, phi);
        let (sin_cn, cos_cn) = cn.sin_cos();
        let (sin_ce, cos_ce) = lam.sin_cos();
        cn = sin_cn.atan2(cos_ce * cos_cn);
        let mut ce = (sin_ce * cos_cn).atan2(sin_cn.hypot(cos_cn * cos_ce));
        ce = ce.tan().asinh();
        let (dcn, dce) = clen_s(&self.gtu, 2.0 * cn, 2.0 * ce);
        cn += dcn;
        ce += dce;
        if ce.abs() > 2.623395162778 {
            return None;
        }
        let y = self.qn * cn + self.zb;
        let x = self.qn * ce;
        Some((A * x + 500_000.0, A * y + self.false_northing()))
    }

    fn inv(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let x = (x - 500_000.0) / A;
        let y = (y - self.false_northing()) / A;
        let mut cn = (y - self.zb) / self.qn;
        let mut ce = x / self.qn;
        if ce.abs() > 2.623395162778 {
            return None;
        }
        let (dcn, dce) = clen_s(&self.utg, 2.0 * cn, 2.0 * ce);
        cn += dcn;
        ce += dce;
        ce = ce.sinh().atan();
        let (sin_cn, cos_cn) = cn.sin_cos();
        let (sin_ce, cos_ce) = ce.sin_cos();
        let lam = sin_ce.atan2(cos_ce * cos_cn);
        let cn = (sin_cn * cos_ce).atan2(sin_ce.hypot(cos_ce * cos_cn));
        let phi = gatg(&self.cgb, cn);
        Some((adjlon(lam + self.lon0).to_degrees(), phi.to_degrees()))
    }
}

/// Longitude into [-π, π].
fn adjlon(mut lon: f64) -> f64 {
    use std::f64::consts::PI;
    if lon.abs() <= PI + 1e-12 {
        return lon;
    }
    lon += PI;
    lon -= 2.0 * PI * (lon / (2.0 * PI)).floor();
    lon - PI
}

/// Gaussian ↔ geodetic latitude series (PROJ `gatg`).
fn gatg(p: &[f64; ORDER], b: f64) -> f64 {
    let cos_2b = 2.0 * (2.0 * b).cos();
    let mut h1 = p[ORDER - 1];
    let mut h2 = 0.0;
    let mut h = 0.0;
    for &c in p[..ORDER - 1].iter().rev() {
        h = -h2 + cos_2b * h1 + c;
        h2 = h1;
        h1 = h;
    }
    b + h * (2.0 * b).sin()
}

/// Real Clenshaw summation (PROJ `clens`).
fn clens(a: &[f64; ORDER], arg_r: f64) -> f64 {
    let r = 2.0 * arg_r.cos();
    let mut hr1 = 0.0;
    let mut hr = a[ORDER - 1];
    for &c in a[..ORDER - 1].iter().rev() {
        let hr2 = hr1;
        hr1 = hr;
        hr = -hr2 + r * hr1 + c;
    }
    arg_r.sin() * hr
}

/// Complex Clenshaw summation (PROJ `clenS`): returns (real, imaginary).
fn clen_s(a: &[f64; ORDER], arg_r: f64, arg_i: f64) -> (f64, f64) {
    let (sin_r, cos_r) = arg_r.sin_cos();
    let (sinh_i, cosh_i) = (arg_i.sinh(), arg_i.cosh());
    let r = 2.0 * cos_r * cosh_i;
    let i = -2.0 * sin_r * sinh_i;
    let (mut hi1, mut hr1, mut hi) = (0.0, 0.0, 0.0);
    let mut hr = a[ORDER - 1];
    for &c in a[..ORDER - 1].iter().rev() {
        let hr2 = hr1;
        let hi2 = hi1;
        hr1 = hr;
        hi1 = hi;
        hr = -hr2 + r * hr1 - i * hi1 + c;
        hi = -hi2 + i * hr1 + r * hi1;
    }
    let r = sin_r * cosh_i;
    let i = cos_r * sinh_i;
    (r * hr - i * hi, r * hi + i * hr)
}

impl Projection {
    /// The projection of a CRS: an EPSG code, or WKT/PROJJSON whose top-level identifier is
    /// an EPSG code (`ID["EPSG",32755]` at the end of WKT2, `"id": {"authority": "EPSG"}`).
    ///
    /// ```
    /// use geochip::{proj::Projection, Crs};
    /// assert!(matches!(Projection::from_crs(&Crs::Epsg(32618)), Ok(Projection::Utm(_))));
    /// assert!(Projection::from_crs(&Crs::Epsg(3577)).is_err());
    /// ```
    pub fn from_crs(crs: &Crs) -> Result<Self, ProjError> {
        let unsupported = || ProjError::Unsupported {
            crs: crs.to_string().chars().take(80).collect(),
        };
        let code = epsg_of(crs).ok_or_else(unsupported)?;
        match code {
            4326 => Ok(Projection::Geographic),
            3857 => Ok(Projection::WebMercator),
            32601..=32660 => Ok(Projection::Utm(Box::new(Tmerc::utm(code - 32600, false)))),
            32701..=32760 => Ok(Projection::Utm(Box::new(Tmerc::utm(code - 32700, true)))),
            _ => Err(unsupported()),
        }
    }

    /// Longitude/latitude (degrees) → this CRS's x/y, or `None` outside the domain.
    ///
    /// ```
    /// use geochip::{proj::Projection, Crs};
    /// let m = Projection::from_crs(&Crs::Epsg(3857)).unwrap();
    /// let (x, _) = m.forward(180.0, 0.0).unwrap();
    /// assert!((x - 20037508.342789244).abs() < 1e-6);
    /// ```
    pub fn forward(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        if !lon.is_finite() || !lat.is_finite() {
            return None;
        }
        match self {
            Projection::Geographic => Some((lon, lat)),
            Projection::WebMercator => {
                if lat.abs() >= 90.0 {
                    return None;
                }
                let phi = lat.to_radians();
                Some((
                    A * lon.to_radians(),
                    A * (std::f64::consts::FRAC_PI_4 + 0.5 * phi).tan().ln(),
                ))
            }
            Projection::Utm(t) => t.fwd(lon, lat),
        }
    }

    /// This CRS's x/y → longitude/latitude (degrees), or `None` outside the domain.
    ///
    /// ```
    /// use geochip::{proj::Projection, Crs};
    /// let utm = Projection::from_crs(&Crs::Epsg(32633)).unwrap();
    /// let (lon, lat) = utm.inverse(500000.0, 0.0).unwrap();
    /// assert!((lon - 15.0).abs() < 1e-12 && lat.abs() < 1e-12);
    /// ```
    pub fn inverse(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        match self {
            Projection::Geographic => Some((x, y)),
            Projection::WebMercator => Some((
                (x / A).to_degrees(),
                (std::f64::consts::FRAC_PI_2 - 2.0 * (-y / A).exp().atan()).to_degrees(),
            )),
            Projection::Utm(t) => t.inv(x, y),
        }
    }
}

/// The EPSG code of a CRS: [`Crs::Epsg`], or the top-level `ID["EPSG",n]` of WKT2
/// (`AUTHORITY["EPSG","n"]` of WKT1), or the top-level `id` of PROJJSON.
///
/// ```
/// use geochip::{proj::epsg_of, Crs};
/// let wkt = Crs::Wkt(r#"PROJCRS["x",BASEGEOGCRS["y",ID["EPSG",4326]],ID["EPSG",32755]]"#.into());
/// assert_eq!(epsg_of(&wkt), Some(32755));
/// assert_eq!(epsg_of(&Crs::Epsg(4326)), Some(4326));
/// ```
pub fn epsg_of(crs: &Crs) -> Option<u32> {
    match crs {
        Crs::Epsg(c) => Some(*c),
        Crs::Wkt(text) => {
            let t = text.trim_end();
            let t = t.strip_suffix(']')?.trim_end();
            let t = t.strip_suffix(']')?;
            let start = t.rfind('[')?;
            let keyword = t[..start].trim_end();
            if !(keyword.ends_with("ID") || keyword.ends_with("AUTHORITY")) {
                return None;
            }
            let mut parts = t[start + 1..].split(',');
            let auth = parts.next()?.trim().trim_matches('"');
            let code = parts.next()?.trim().trim_matches('"');
            if auth.eq_ignore_ascii_case("EPSG") {
                code.parse().ok()
            } else {
                None
            }
        }
        Crs::ProjJson(text) => {
            let v: serde_json::Value = serde_json::from_str(text).ok()?;
            let id = v.get("id")?;
            if id.get("authority")?.as_str()? != "EPSG" {
                return None;
            }
            id.get("code")?.as_u64().and_then(|c| u32::try_from(c).ok())
        }
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Reprojects a point between two projections (`None` when either step fails).
///
/// ```
/// use geochip::{proj::{reproject, Projection}, Crs};
/// let z55 = Projection::from_crs(&Crs::Epsg(32755)).unwrap();
/// let z56 = Projection::from_crs(&Crs::Epsg(32756)).unwrap();
/// let (x, y) = reproject(&z56, &z55, 222430.0, 6089670.0).unwrap();
/// let (bx, by) = reproject(&z55, &z56, x, y).unwrap();
/// assert!((bx - 222430.0).abs() < 1e-6 && (by - 6089670.0).abs() < 1e-6);
/// ```
pub fn reproject(from: &Projection, to: &Projection, x: f64, y: f64) -> Option<(f64, f64)> {
    if from == to {
        return Some((x, y));
    }
    let (lon, lat) = from.inverse(x, y)?;
    to.forward(lon, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from pyproj 3.7.2 (PROJ 9), `Transformer.from_crs(4326, 32755, always_xy=True)`.
    #[test]
    fn utm_matches_pyproj() {
        let p = Projection::from_crs(&Crs::Epsg(32755)).unwrap();
        let (x, y) = p.forward(149.95, -35.3).unwrap();
        assert!((x - 768245.8844084332).abs() < 1e-6, "{x}");
        assert!((y - 6089694.712512193).abs() < 1e-6, "{y}");
        let (lon, lat) = p.inverse(x, y).unwrap();
        assert!((lon - 149.95).abs() < 1e-11 && (lat + 35.3).abs() < 1e-11);
        // zone 56 -> zone 55, 6-8 degrees from the central meridian (Landsat ARD item corner)
        let z56 = Projection::from_crs(&Crs::Epsg(32656)).unwrap();
        let z55n = Projection::from_crs(&Crs::Epsg(32655)).unwrap();
        let (x, y) = reproject(&z56, &z55n, 526785.0, -3077085.0).unwrap();
        assert!((x - 1118409.0473281625).abs() < 1e-6, "{x}");
        assert!((y + 3092891.8678494166).abs() < 1e-6, "{y}");
    }
}
