//! flyctl's `bluegreen` strategy (reference §3–§6). SKELETON: written by the bluegreen helper.
