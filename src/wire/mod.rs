//! Pure codecs.
