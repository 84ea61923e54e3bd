//! Places in a live event: chat [`Channel`]s and presence [`Area`]s. Both are
//! strings on the wire and in the database (`reception`, `stage:<id>`), parsed
//! into these types where they arrive.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::{StageId, VideoSessionId};

/// A string that names no channel or area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPlace(&'static str);

impl std::fmt::Display for BadPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BadPlace {}

/// Where a chat message, poll, question or caption lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// The Reception's chat.
    Reception,
    /// A stage's chat, polls, Q&A and captions.
    Stage(StageId),
    /// A video session's chat.
    Session(VideoSessionId),
}

/// Where an attendee is (presence: "N watching" a stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// The Reception page.
    Reception,
    /// The people list.
    People,
    /// A stage.
    Stage(StageId),
    /// A video session.
    Session(VideoSessionId),
    /// The pre-event check (camera, microphone, connection).
    Check,
    /// Networking (the queue and 1:1 calls).
    Networking,
}

impl Channel {
    /// The error message for a string that is not a channel.
    pub const EXPECTED: &'static str = "channel must be reception, stage:<id> or session:<id>";
}

impl Area {
    /// The error message for a string that is not an area.
    pub const EXPECTED: &'static str = "area must be reception, people, stage:<id> or session:<id>";

    /// The chat channel of this area, if it has one.
    pub fn channel(self) -> Option<Channel> {
        match self {
            Area::Reception => Some(Channel::Reception),
            Area::Stage(id) => Some(Channel::Stage(id)),
            Area::Session(id) => Some(Channel::Session(id)),
            Area::People | Area::Check | Area::Networking => None,
        }
    }
}

impl From<Channel> for Area {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Reception => Area::Reception,
            Channel::Stage(id) => Area::Stage(id),
            Channel::Session(id) => Area::Session(id),
        }
    }
}

fn stage_of(s: &str) -> Option<StageId> {
    s.strip_prefix("stage:")?.parse().ok()
}

fn session_of(s: &str) -> Option<VideoSessionId> {
    s.strip_prefix("session:")?.parse().ok()
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Reception => f.write_str("reception"),
            Channel::Stage(id) => write!(f, "stage:{id}"),
            Channel::Session(id) => write!(f, "session:{id}"),
        }
    }
}

impl std::fmt::Display for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Area::Reception => f.write_str("reception"),
            Area::People => f.write_str("people"),
            Area::Check => f.write_str("check"),
            Area::Networking => f.write_str("networking"),
            Area::Stage(id) => write!(f, "stage:{id}"),
            Area::Session(id) => write!(f, "session:{id}"),
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = BadPlace;
    fn from_str(s: &str) -> Result<Self, BadPlace> {
        match s {
            "reception" => Ok(Channel::Reception),
            _ => stage_of(s)
                .map(Channel::Stage)
                .or_else(|| session_of(s).map(Channel::Session))
                .ok_or(BadPlace(Self::EXPECTED)),
        }
    }
}

impl std::str::FromStr for Area {
    type Err = BadPlace;
    fn from_str(s: &str) -> Result<Self, BadPlace> {
        match s {
            "reception" => Ok(Area::Reception),
            "people" => Ok(Area::People),
            "check" => Ok(Area::Check),
            "networking" => Ok(Area::Networking),
            _ => stage_of(s)
                .map(Area::Stage)
                .or_else(|| session_of(s).map(Area::Session))
                .ok_or(BadPlace(Self::EXPECTED)),
        }
    }
}

macro_rules! string_serde {
    ($($t:ty),+) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'q> sqlx::Encode<'q, sqlx::Postgres> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, sqlx::Postgres>>::encode(self.to_string(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $t {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<&str as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)?.parse()?)
            }
        }
    )+};
}

string_serde!(Channel, Area);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_strings() {
        let id: StageId = "67e55044-10b1-426f-9247-bb680e5fe0c8".parse().unwrap();
        let ch = Channel::Stage(id);
        assert_eq!(
            serde_json::to_string(&ch).unwrap(),
            "\"stage:67e55044-10b1-426f-9247-bb680e5fe0c8\""
        );
        assert_eq!("reception".parse::<Channel>().unwrap(), Channel::Reception);
        assert_eq!(ch.to_string().parse::<Channel>().unwrap(), ch);
        assert!("people".parse::<Channel>().is_err());
        assert_eq!("people".parse::<Area>().unwrap(), Area::People);
        assert_eq!("check".parse::<Area>().unwrap().to_string(), "check");
        assert_eq!(Area::from(ch).channel(), Some(ch));
        assert_eq!(
            "stage:x".parse::<Area>().unwrap_err().to_string(),
            Area::EXPECTED
        );
        assert!(serde_json::from_str::<Area>("\"lobby\"").is_err());
        let s = "session:67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(s.parse::<Area>().unwrap().to_string(), s);
        assert_eq!(
            s.parse::<Area>().unwrap().channel(),
            Some(s.parse::<Channel>().unwrap())
        );
    }
}
