//! Every form of web handler: sync and async, path parameters of any `FromStr` type,
//! the request, the context, and the return types a handler may answer with.

use ergo::prelude::*;
use ergo::web::{Json, StatusCode, WebRequest, WebResponse, WebWorker};

#[derive(Default)]
struct Api {
    hits: u64,
}

#[actor]
impl Api {
    #[handle_call]
    fn hits(&mut self) -> u64 {
        self.hits
    }

    #[get("/")]
    fn index(&mut self) -> WebResponse {
        WebResponse::html("<p>hi</p>")
    }

    #[get("/item/:kind/:n")]
    fn item(&mut self, kind: String, n: u32) -> Json<(String, u32)> {
        self.hits += 1;
        Json((kind, n))
    }

    #[post("/echo")]
    fn echo(&mut self, req: &WebRequest) -> Result<String, (StatusCode, &'static str)> {
        req.text()
            .map(str::to_string)
            .map_err(|_| (StatusCode::BAD_REQUEST, "text"))
    }

    #[put("/me")]
    fn me(&mut self, ctx: &mut Context<Self>) -> String {
        ctx.pid().to_string()
    }

    #[patch("/later/:n")]
    async fn later(&mut self, n: u8) -> (StatusCode, String) {
        tokio::task::yield_now().await;
        (StatusCode::ACCEPTED, n.to_string())
    }

    #[delete("/all")]
    fn clear(&mut self) {}
}

fn assert_worker<W: WebWorker>() {}

fn main() {
    assert_worker::<Api>();
    assert_worker::<ergo::pool::Pool<Api>>();
}
