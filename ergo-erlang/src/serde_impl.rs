//! serde for [`Term`]: a term crosses ergo's own network as its External Term Format
//! bytes, so actors whose handlers take or return terms stay network-transparent.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::term::Term;

impl Serialize for Term {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = self.encode().map_err(serde::ser::Error::custom)?;
        s.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Term, D::Error> {
        let bytes = <Vec<u8>>::deserialize(d)?;
        Term::decode(&bytes).map_err(D::Error::custom)
    }
}
