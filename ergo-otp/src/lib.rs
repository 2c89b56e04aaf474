//! OTP behaviours above the ergo core, as OTP's `supervisor` and application
//! controller sit above erts: [`supervisor`] trees that restart what fails, typed
//! publish/subscribe [`events`], worker [`pool`]s and message [`router`]s, and applications — named trees loaded, started and stopped on a node
//! ([`ApplicationExt`]).

mod application;
pub mod events;
pub mod pool;
mod ratelimit;
pub mod router;
pub mod supervisor;

pub use application::{
    ApplicationChange, ApplicationError, ApplicationExt, ApplicationInfo, ApplicationSpec,
    ApplicationState, StartMode, DEFAULT_WEIGHT,
};
