//! A manifest read region by region (`bundle::manifest::Stream`) against its whole text
//! (`manifest::parse`): the first two bytes choose the regions' size (1 to 255 bytes, or cut at
//! one offset) and when to give up; the rest is the manifest. The manifest (or the error, with its
//! line and column) and the bounds' count must be the same; a difference is a panic. The bound on
//! steps is 5 here, so that lists past it are common.

#![no_main]

use arcdiag::bundle::manifest::{parse, set_max_steps, Stream};
use arcdiag::bundle::read::{estimate_values, Class};
use libfuzzer_sys::fuzz_target;

fn count(d: &[u8]) -> u64 {
    estimate_values(d, Class::Manifest) - 1
}

fuzz_target!(|data: &[u8]| {
    let [size, stop, doc @ ..] = data else { return };
    let regions: Vec<&[u8]> = if *size == 0 {
        let at = usize::from(*stop) % (doc.len() + 1);
        vec![&doc[..at], &doc[at..]]
    } else {
        doc.chunks(usize::from(*size)).collect()
    };
    let give_up = (*stop > 200 && *size != 0).then(|| usize::from(*stop - 200));
    set_max_steps(5);
    let mut s = Stream::new(count);
    for (i, r) in regions.iter().enumerate() {
        if Some(i) == give_up {
            s.give_up();
        }
        s.push(r);
    }
    let (got, n) = s.finish();
    assert_eq!(n, estimate_values(doc, Class::Manifest), "count");
    if give_up.is_some_and(|g| g < regions.len()) {
        return;
    }
    let want = parse(doc);
    match (&got, &want) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("stream {got:?} whole {want:?}"),
    }
});
