use std::io::Write;

#[inline(always)]
fn mix(h: u64, c: u8) -> u64 {
    (h ^ c as u64).wrapping_mul(0x100000001b3)
}

#[inline(never)]
fn hot_fn(s: &str) -> u64 {
    let mut h = 0xcbf29ce484222325u64;
    for c in s.bytes() {
        h = mix(h, c);
    }
    h
}

#[inline(never)]
fn build(i: u64) -> String {
    let mut s = String::new();
    for j in 0..64 {
        s.push_str(&format!("{}-{};", i, j));
    }
    s
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let mut sink = std::fs::File::create("/dev/null").unwrap();
    let mut total = 0u64;
    for i in 0..n {
        let s = build(i);
        for _ in 0..20 {
            total = total.wrapping_add(hot_fn(&s));
        }
        if i % 16 == 0 {
            // A system call doing real work gives the profile some kernel frames.
            total = total.wrapping_add(std::fs::read("/proc/self/maps").unwrap().len() as u64);
        }
        sink.write_all(s.as_bytes()).unwrap();
    }
    println!("Part 1: {}", total);
}
