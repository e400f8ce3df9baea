//! A plain in-memory Machines API. SKELETON: written by the bluegreen helper.
