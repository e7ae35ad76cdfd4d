"""What a run leaves behind for people: JUnit, HTML, evidence bundles, journals."""
