use ergo::prelude::*;

pub struct Point {
    pub x: i32,
    pub y: i32,
}

struct Canvas;

#[actor]
impl Canvas {
    #[handle_cast]
    fn draw(&mut self, at: Point) {
        let _ = (at.x, at.y);
    }
}

fn main() {}
