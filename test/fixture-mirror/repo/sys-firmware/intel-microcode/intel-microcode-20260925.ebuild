# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo
# sys-firmware/intel-microcode: CPU microcode under Intel's license, which
# Gentoo's default ACCEPT_LICENSE does not accept.
EAPI=8
inherit fixture-debian

DESCRIPTION="Intel IA32/IA64 microcode update data (fixture: Debian's build)"
HOMEPAGE="https://github.com/intel/Intel-Linux-Processor-Microcode-Data-Files"
LICENSE="intel-ucode"
SLOT="0"
KEYWORDS="-* amd64 x86"
