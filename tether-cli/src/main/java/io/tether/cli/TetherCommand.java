package io.tether.cli;
public class TetherCommand { public static void main(String[] a) {} }
