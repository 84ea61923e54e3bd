//! Networking (the seed: "pairs 2 people over a direct video call to
//! facilitate connection discovery"): a queue for "Meet someone", 1:1 calls
//! with the organiser's countdown, Connect and contact cards ([`meetings`]),
//! and blocks and reports ([`safety`]).
//!
//! The queue is a Redis sorted set per event (attendee → when they last said
//! they are waiting), so it is one queue whichever node an attendee is on.
//! Pairing is one script ([`meetings::PAIR`]): it drops people who stopped
//! waiting, takes the longest-waiting person the asker may meet, or else puts
//! the asker in the queue. Two people asking at once is the race it
//! prevents: the second finds the first (nobody waits forever beside someone
//! waiting too, and nobody is taken twice). Whom one may meet is read from
//! the database each time (everyone met before in the event, everyone
//! blocked either way) and handed to the script, with the asker's tags under
//! the organiser's matching rule (ticket types, or the interest answered at
//! registration); waiters' tags wait beside the queue in a hash.

pub mod meetings;
pub mod safety;
